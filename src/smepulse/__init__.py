"""smepulse: measure and finance the small-business economy."""

__version__ = "0.1.0"
