"""The demo's output: Lightning's advertising is filtered out, its notices and warnings are not."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import lightning.pytorch as pl
import pytest
from neuraltypes_modules import demo


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


@pytest.fixture
def lightning_messages() -> Iterator[_Records]:
    """What Lightning's rank-zero logger emits (it does not propagate to the root logger, so caplog misses it)."""
    logger = logging.getLogger("lightning.pytorch.utilities.rank_zero")
    kept = list(logger.filters)
    for known in kept:
        logger.removeFilter(known)
    records = _Records()
    logger.addHandler(records)
    try:
        yield records
    finally:
        logger.removeHandler(records)
        for known in list(logger.filters):
            logger.removeFilter(known)
        for known in kept:
            logger.addFilter(known)


def _trainer() -> None:
    pl.Trainer(accelerator="cpu", devices=1, logger=False, enable_checkpointing=False, enable_progress_bar=False)


def test_lightning_tips_are_hidden_and_its_notices_are_kept(lightning_messages: _Records) -> None:
    _trainer()
    assert any(message.startswith("💡 Tip:") for message in lightning_messages.messages), "Lightning gives no tip now"
    lightning_messages.messages.clear()
    demo.hide_lightning_tips()
    demo.hide_lightning_tips()  # once is enough; twice changes nothing
    _trainer()
    assert not any("Tip:" in message for message in lightning_messages.messages)
    assert any(message.startswith("GPU available") for message in lightning_messages.messages)
    with pytest.warns(UserWarning, match="tip: not filtered"):
        pl.utilities.rank_zero_warn("tip: not filtered")  # warnings are not touched
