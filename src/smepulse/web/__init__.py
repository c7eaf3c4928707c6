"""The web application: portal and read API, admin (panel, waves, publishing), the respondent form, apply.

`create_app(WebConfig(store=...))` builds one FastAPI app over one store; `smepulse serve` runs it with Uvicorn.
Other parts add their routes by putting a router in `smepulse.web.app.ROUTERS` (one line)."""
from smepulse.web.config import WebConfig

__all__ = ["WebConfig"]
