"""A chat's own feeds in its digest: one "My feeds" section after the catalogue topics."""

from __future__ import annotations

from bot.digest.select import MY_FEEDS, MY_FEEDS_NAME
from bot.store.records import own_feed_topic
from tests.digest.test_select import article, ids, plan

BLOG, SHOP = own_feed_topic(7), own_feed_topic(9)


def test_own_feeds_share_one_last_section_with_the_chats_filters() -> None:
    stories = [
        article(1, topics=("world",)),
        article(2, source=7, topics=(BLOG,), headline="Tomato harvest"),
        article(3, source=9, topics=(SHOP,), headline="Football boots on sale"),
        article(4, source=8, topics=(own_feed_topic(8),)),  # a feed this chat does not follow
    ]

    result = plan(stories, topics=("world", BLOG, SHOP), exclude_words=("football",))

    assert [s.topic_id for s in result.sections] == ["world", MY_FEEDS]
    assert result.sections[1].topic_name == MY_FEEDS_NAME
    assert ids(result) == [[1], [2]]
    assert result.max_article_id == 3  # the filtered story was considered; feed 8's was not


def test_a_chat_with_only_own_feeds() -> None:
    result = plan([article(5, source=7, topics=(BLOG,))], topics=(BLOG,))

    assert [s.topic_name for s in result.sections] == [MY_FEEDS_NAME]
    assert ids(result) == [[5]]
