"""The one compiled part: the parse workers' word work (bot/sources/_speedups.c).

Optional: where it cannot be built (no C compiler), bot.sources.text and
bot.sources.cluster use their pure-Python versions of the same rules, with the
same results; parsing a benchmark feed then costs ~1.8x the CPU.
"""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension("bot.sources._speedups", ["bot/sources/_speedups.c"], optional=True),
    ]
)
