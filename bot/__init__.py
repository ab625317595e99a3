"""newsbot: a Telegram bot that turns news sources into topic digests."""

import os

# python-telegram-bot 22 warns when RetryAfter.retry_after is built as an int;
# opting in to timedelta values keeps 429 handling free of deprecation noise.
os.environ.setdefault("PTB_TIMEDELTA", "1")

__version__ = "0.1.0"
