"""`smepulse credit snapshot | decide | audit verify | replay | loans`: the decision book from the command line."""
from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import typer
from rich.console import Console

from smepulse.decision.book import DecisionBook, build_snapshots
from smepulse.decision.errors import DecisionError
from smepulse.decision.programmes import import_candidates, ledger, write_ledger
from smepulse.decision.service import DecisionService, replay
from smepulse.store.postgres import is_server_url, redact

console = Console()
audit_app = typer.Typer(help="The hash-chained decision audit log.", no_args_is_help=True)
STORE_HELP = "Store file or postgresql:// URL"


def open_book(store: str, *, must_exist: bool = True) -> DecisionBook:
    """The decision book of a store file or a PostgreSQL URL; a missing file is an error where the
    command reads an existing book (deciding or verifying against a new empty file helps no one)."""
    if must_exist and not is_server_url(store) and not Path(store).is_file():
        raise DecisionError(f"store {store} does not exist: give the store file `make demo` or "
                            "`smepulse credit snapshot` wrote, or a postgresql:// URL")
    return DecisionBook(store)


def snapshot_cmd(
    data: Path = typer.Option(..., "--data", help="Directory written by `credit simulate` (or the same layout)."),
    store: str = typer.Option(..., "--store", help=f"{STORE_HELP} the feature snapshots go into."),
    as_of: str = typer.Option(..., "--as-of", help="Snapshot date, YYYY-MM-DD (features use data before it)."),
) -> None:
    """Build every firm's point-in-time feature snapshot as of a date (the `credit features` batch) into the store.

    Example: smepulse credit snapshot --data data/sim --store data/smepulse.duckdb --as-of 2024-12-01
    """
    try:
        day = date.fromisoformat(as_of)
    except ValueError:
        raise DecisionError(f"--as-of {as_of!r} is not a date YYYY-MM-DD") from None
    with open_book(store, must_exist=False) as book:
        n = build_snapshots(data, book, day)
    console.print(f"wrote {n:,} feature snapshots as of {day} into {redact(store)}")


def decide_cmd(
    application: Path = typer.Argument(..., help="Application JSON file."),
    store: str = typer.Option(..., "--store", help=f"{STORE_HELP} with snapshots and the audit log."),
    model: Path = typer.Option(..., "--model", help="Champion model directory (`credit train --out`)."),
    policy: Path | None = typer.Option(None, "--policy", help="Policy directory (default: the shipped policy)."),
    key: str | None = typer.Option(None, "--idempotency-key", help="Retry-safe key."),
) -> None:
    """Decide one application, record it, print the decision as JSON.

    Example: smepulse credit decide app.json --store data/smepulse.duckdb --model models/champion
             smepulse credit decide app.json --store postgresql://smepulse@db.example/smepulse --model models/champion
    """
    try:
        body = json.loads(application.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise DecisionError(f"{application}: not a readable JSON application ({exc})") from None
    with open_book(store) as book:
        rec, replayed = DecisionService(book, model, policy).submit(body, key)
    keys = ("decision_id", "decision", "pd", "limit", "annual_rate", "reasons", "programmes", "rules_fired")
    print(json.dumps({**{k: rec[k] for k in keys}, "replayed": replayed}, ensure_ascii=False, indent=1))


@audit_app.command("verify")
def verify_cmd(store: str = typer.Option(..., "--store", help=f"{STORE_HELP} with the audit log.")) -> None:
    """Walk the hash chain; exit 2 naming the first edited, deleted or re-ordered record (or altered
    archived policy version); list the policy versions records name but the book never archived.

    Example: smepulse credit audit verify --store data/smepulse.duckdb
             smepulse credit audit verify --store postgresql://smepulse@db.example/smepulse
    """
    with open_book(store) as book:
        v = book.verify()
    if not v.ok:
        raise DecisionError(f"audit log of {redact(store)} is broken: {v.problems[0]}"
                            + (f" (+{len(v.problems) - 1} more)" if len(v.problems) > 1 else ""))
    console.print(f"audit log ok: {v.records:,} records, hash chain intact")
    for sha, n in sorted(v.unarchived.items()):  # recorded before the book archived policies: not tampering
        console.print(f"policy not archived: {sha[:12]} ({n:,} records); replay them with --policy DIR")


def replay_cmd(
    decision_id: str = typer.Argument(..., help="Decision id (from the API answer or the audit log)."),
    store: str = typer.Option(..., "--store", help=f"{STORE_HELP} with the audit log."),
    model: Path | None = typer.Option(None, "--model", help="Model directory, if it moved since the decision."),
    policy: Path | None = typer.Option(None, "--policy", help="Policy directory, if the book has not archived the "
                                       "recorded version (records from before the archive)."),
) -> None:
    """Re-run a stored decision from its recorded inputs; exit 2 if anything differs.

    Example: smepulse credit replay dec-0123abcd --store data/smepulse.duckdb
    """
    with open_book(store) as book:
        stored, again = replay(book, decision_id, model_dir=model, policy_dir=policy)
    diff = [k for k in stored if stored[k] != again[k]]
    if diff:
        raise DecisionError(f"replay of {decision_id} differs in {', '.join(diff)}: stored "
                            f"{stored[diff[0]]!r}, replayed {again[diff[0]]!r}")
    console.print(f"replay of {decision_id} reproduces the stored decision exactly: {stored['decision']}, "
                  f"pd {stored['pd']}, limit {stored['limit']}, rate {stored['annual_rate']}")


def candidates_cmd(
    path: Path = typer.Argument(..., help="Candidate list (CSV/Excel): uscc, list_batch, class, listed_on."),
    store: str = typer.Option(..., "--store", help=f"{STORE_HELP}."),
    programme: str = typer.Option("sci_tech_relending", "--programme", help="Programme the list belongs to."),
) -> None:
    """Import a candidate list pushed by the authorities (firm codes with their list batch).

    Example: smepulse credit candidates lists/2024-06-batch1.xlsx --store data/smepulse.duckdb
    """
    with open_book(store, must_exist=False) as book:
        n = import_candidates(book, path, programme)
    console.print(f"imported {n:,} candidates of {programme} from {path}")


def ledger_cmd(
    quarter: str = typer.Option(..., "--quarter", help="Quarter, e.g. 2024Q3."),
    store: str = typer.Option(..., "--store", help=f"{STORE_HELP} with the loans."),
    out: Path = typer.Option(..., "--out", help="Output .csv (plus _summary.csv) or .xlsx."),
    programme: str = typer.Option("sci_tech_relending", "--programme", help="Programme."),
    funding_cost: float = typer.Option(0.025, "--funding-cost", help="Lender's funding cost, annual share."),
) -> None:
    """Write the programme ledger (台账) of a quarter's loans: eligible and refinanceable principal,
    quota usage, funding-cost benefit.

    Example: smepulse credit ledger --quarter 2024Q3 --store data/smepulse.duckdb --out ledger-2024Q3.xlsx
    """
    with open_book(store) as book:
        df, summary = ledger(book.loans(), quarter, programme, funding_cost)
    write_ledger(df, summary, out)
    console.print(f"wrote {out}: {summary['loans']} loans, refinanceable {summary['refinanceable_principal']:,.0f} "
                  f"yuan, funding-cost benefit {summary['funding_cost_benefit']:,.2f} yuan")


def register(credit_app: typer.Typer) -> None:
    """Add the decision commands to the `credit` group."""
    credit_app.command("snapshot")(snapshot_cmd)
    credit_app.command("decide")(decide_cmd)
    credit_app.command("replay")(replay_cmd)
    credit_app.command("candidates")(candidates_cmd)
    credit_app.command("ledger")(ledger_cmd)
    credit_app.add_typer(audit_app, name="audit")
