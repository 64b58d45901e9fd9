"""Speed and accuracy measurements. Each module has a ``run() -> list[dict]`` and a ``__main__``."""
