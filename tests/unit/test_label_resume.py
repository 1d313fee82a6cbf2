"""Which finished label items --resume labels again: transient failures, up to MAX_ATTEMPTS; never a
permanent failure (a dead latent) or a finished label."""

from sleuth.label.item import failed
from sleuth.label.items import Item
from sleuth.label.records import MAX_ATTEMPTS, LabelRecord

ITEM = Item(component="L3N1", hookpoint="blocks.3.mlp.hook_post", index=1)


def test_only_transient_failures_are_tried_again_and_only_so_often():
    dead = failed(ITEM, "collect: never fires on the 512 explain windows scanned")
    timeout = failed(ITEM, "explain: the LLM did not answer within 120 s", transient=True)
    assert not dead.retried_on_resume and timeout.retried_on_resume
    assert not timeout.model_copy(update={"attempts": MAX_ATTEMPTS}).retried_on_resume
    assert not LabelRecord(item=ITEM, status="rejected", label="fires on commas").retried_on_resume
    old = LabelRecord.model_validate_json('{"item": %s, "status": "failed", "reason": "x"}' % ITEM.model_dump_json())
    assert old.attempts == 1 and not old.transient  # a record from before this field reads as permanent
