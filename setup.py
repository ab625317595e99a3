"""The one compiled part: the parse workers' word work (bot/sources/_speedups.c).

Optional: where it cannot be built (no C compiler), bot.sources.cluster uses its
pure-Python version of the same rules, with the same results, ~1.3x slower per feed.
"""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension("bot.sources._speedups", ["bot/sources/_speedups.c"], optional=True),
    ]
)
