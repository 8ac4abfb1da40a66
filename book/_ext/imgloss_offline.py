"""Sphinx extension of the book: keep the built pages self-contained and free of script errors.

* Removes sphinx-thebe's scripts. Thebe (live code cells) would fetch its bundle from a CDN,
  and jupyter-book 1.x registers its configuration twice, which is a JavaScript error on every
  page ("Identifier 'THEBE_JS_URL' has already been declared").
* Points the launch buttons (Binder, Colab, JupyterHub) at the notebook's source in
  ``notebooks/``: a chapter is built from its executed copy in ``book/executed/``, which git
  ignores, so the theme's links (made from the page's name) would open a file the repository
  does not hold. Chapters executed from a shared notebook (Table 1's three pages, from
  ``notebooks/02-table1.ipynb``) open that notebook (``imgloss.book.build.source_of``).
* Gives the ipywidgets HTML manager the MathJax 2 call it makes (``MathJax.Hub.Queue``) on top of
  the vendored MathJax 3, so widget labels are typeset instead of throwing a TypeError.
"""

from __future__ import annotations

MATHJAX_CONFIG = """
(function () {
  var pending = [];
  function typeset(el) {
    var mj = window.MathJax;
    if (mj && mj.typesetPromise) { mj.typesetPromise(el ? [el] : undefined).catch(function () {}); }
    else { pending.push(el); }
  }
  var hub = { Queue: function (call) { typeset(call && call[2]); } };
  // Runs after Sphinx's `window.MathJax = {config}` and before the deferred MathJax 3 script.
  var config = window.MathJax || {};
  config.Hub = hub;
  config.startup = config.startup || {};
  config.startup.ready = function () {
    window.MathJax.startup.defaultReady();
    window.MathJax.Hub = hub;
    window.MathJax.startup.promise.then(function () {
      var todo = pending; pending = [];
      todo.forEach(typeset);
    });
  };
  window.MathJax = config;
})();
"""


def _drop_thebe(app, pagename, templatename, context, doctree):
    scripts = context.get("script_files")
    if scripts is None:
        return
    kept = [
        s
        for s in scripts
        if "thebe" not in str(getattr(s, "filename", "") or "")
        and "THEBE_JS_URL" not in str(getattr(s, "attributes", {}).get("body", ""))
    ]
    scripts[:] = kept


#: Where the book's chapters are built from (papermill's output) and where they live in git.
EXECUTED, SOURCES = "book/executed/", "notebooks/"


def _launch_sources(app, pagename, templatename, context, doctree):
    from imgloss.book.build import source_of

    chapter = pagename.rsplit("/", 1)[-1]
    executed, source = f"{EXECUTED}{chapter}.ipynb", f"{SOURCES}{source_of(chapter)}.ipynb"
    for group in context.get("header_buttons", []):
        if group.get("label") != "launch-buttons":
            continue
        for button in group.get("buttons", []):
            if "url" in button:
                button["url"] = button["url"].replace(executed, source).replace(EXECUTED, SOURCES)


def setup(app):
    app.add_js_file(None, body=MATHJAX_CONFIG, priority=501)  # after the MathJax config
    app.connect("html-page-context", _drop_thebe, priority=900)
    app.connect("html-page-context", _launch_sources, priority=510)  # after the theme's (501)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
