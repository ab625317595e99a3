"""The one compiled part: the story signature's word work (bot/sources/_signature.c).

Optional: where it cannot be built (no C compiler), bot.sources.cluster uses its
pure-Python version of the same rules, with the same results, ~1.3x slower per feed.
"""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension("bot.sources._signature", ["bot/sources/_signature.c"], optional=True),
    ]
)
