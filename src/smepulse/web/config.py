"""What the web app needs to know: where the store is, which methodology it serves, mail settings."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class WebConfig:
    """store: a DuckDB file path (embedded default) or a postgresql:// URL (`db`).

    methodology: the preset name or YAML path whose survey the app serves. smtp_config: an optional TOML/JSON file
    with SMTP settings (without it, invitations are exported as CSV, never lost). secure_cookies: set the Secure flag
    on cookies (behind HTTPS). release_charts: draw the release page's charts (vl-convert; slow on first view).
    config_file: an optional TOML file; its `[respondents]` table says when links take answers (fieldwork dates,
    late days, link expiry: web/fieldwork.py, docs/web.md)."""
    store: str | Path | None = None
    db: str | None = None
    methodology: str = "smei"
    smtp_config: str | Path | None = None
    config_file: str | Path | None = None
    secure_cookies: bool = False
    max_body: int = 2_000_000
    release_charts: bool = True
    extra: dict = field(default_factory=dict)

    @property
    def target(self) -> str:
        if self.db:
            return self.db
        if self.store is None:
            return "demo/smepulse.duckdb"
        return str(self.store)
