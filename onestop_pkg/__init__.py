"""OneStop: plans and tracks a day of after-sales field work."""

__version__ = "0.1.0"
