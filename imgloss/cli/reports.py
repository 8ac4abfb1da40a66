"""The results read back: ``imgloss report`` (Table 1, loss switching and the paper's claims,
decided) and ``imgloss migrate`` (an older results folder brought up to date)."""

from __future__ import annotations

import argparse
import sys

from imgloss.cli import options


def add_parsers(sub) -> None:
    report = sub.add_parser(
        "report",
        help="print Table 1, loss switching and the findings from the results files, ours next "
        "to the paper's",
        description="Print the results of one profile on one data source: which data, Table 1 "
        "(ours and the paper's), the loss-switching table and the check of the paper's findings.",
    )
    options.add(report, "profile", "results")
    report.add_argument(
        "--source",
        default="auto",
        metavar="TAG",
        help="the data source whose results to show: embedded, registered-<checksum>, or auto "
        "(the data root's if it has results, else the registered data's, else the embedded "
        "photographs')",
    )
    options.add(report, "root")
    report.add_argument(
        "--findings",
        action="store_true",
        help="only the paper's claims, each decided with statistics (holds, contradicted, "
        "undecided; effect, 95%% interval, images and seeds)",
    )
    report.add_argument("--json", action="store_true", help="with --findings: as JSON objects")
    report.set_defaults(func=report_command)

    migrate = sub.add_parser(
        "migrate",
        help="bring a results folder written by an older imgloss up to date (nothing retrained)",
        description="Move schema 1 results under the folder of the data they were made on, name "
        "the data by checksum, re-key the runs and rewrite the summaries.",
    )
    options.add(
        migrate,
        "results",
        "root",
        root={
            "help": "the data root the results were made with (default: $IMGLOSS_DATA_ROOT; "
            "none for results on the embedded photographs)"
        },
    )
    migrate.set_defaults(func=migrate_command)


def report_command(args: argparse.Namespace) -> int:
    from imgloss.report import tables as report
    from imgloss.report import ten_years
    from imgloss.results import records

    view = records.open_view(
        args.results, options.default_profile(args.profile), source=args.source, root=args.root
    )
    if not view.summaries():
        where = f"source {view.tag}" if view.tag else "any data source"
        print(
            f"error: no results of profile {view.profile} for {where} in {args.results}: "
            f"run `imgloss run all --profile {view.profile}` first (or pick another "
            "--profile / --results)",
            file=sys.stderr,
        )
        return 1
    if args.findings:
        return _print_findings(view, as_json=args.json)
    print(f"# Results of profile `{view.profile}`\n")
    print(report.provenance_markdown(view) + "\n")
    print(report.data_markdown(view) + "\n")
    print(report.table1_markdown(view))
    which = report.ssim_convention_markdown(view)
    if which:
        print(which + "\n")
    print(report.switching_markdown(view))
    print(report.fig8_markdown(view))
    geometry = report.geometry_markdown(view)
    if geometry:
        print("## Patch geometry: the loss on a 15 x 15 or a 31 x 31 output\n")
        print(geometry + "\n")
    print("## The paper's claims, decided\n")
    print(report.claims_markdown(view))
    modern = ten_years.report_markdown(view)
    if modern:
        print("\n## Ten years on: the findings on today's losses and networks\n")
        print(modern)
    return 0


def _print_findings(view, *, as_json: bool) -> int:
    import json

    from imgloss.report import claims
    from imgloss.report import tables as report

    found = claims.verdicts(view)
    if as_json:
        print(
            json.dumps(
                [v.to_dict() | {"source_data": view.tag, "profile": view.profile} for v in found],
                indent=2,
                allow_nan=False,
            )
        )
    else:
        print(report.claims_markdown(view))
    return 0


def migrate_command(args: argparse.Namespace) -> int:
    from imgloss.experiments import migrate

    for line in migrate.migrate(args.results, args.root):
        print(line)
    return 0
