"""The live demo: a scenario of three parties driven against a real channel service."""

__all__: list[str] = []
