"""Every image node the runner knows, fed hostile inputs: it never falls over, never publishes a
NaN or a point behind the camera or kilometres away, and counts every input it does not publish
for under a named reason, in the counters /diagnostics shows.

Why from NODE_KINDS: a node added to the runner is fuzzed by this file without a line of new
code. Each node starts once (``campaign``) and takes RAW_EXAMPLES raw and COMPRESSED_EXAMPLES
compressed inputs from hypothesis (``hostile_inputs``), the large ones of ``large_inputs``, and
a flush of good frames; each property is then its own test, so a known bug fails one property
and hides no other. Derandomised: CI sees the same inputs each run.
"""

from __future__ import annotations

import pytest
from hostile_inputs import fuzz_inputs, large_inputs
from hypothesis import HealthCheck, given, settings
from node_harness import FuzzedNode, image_node_kinds
from rosutil import wait_for

pytestmark = pytest.mark.ros

RAW_EXAMPLES = 800
COMPRESSED_EXAMPLES = 200
FLUSH_FRAMES = 8  # more than the synchroniser holds, so every unpaired image leaves it


def _settings(examples: int) -> settings:
    return settings(
        max_examples=examples,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )


def _fuzz(fuzzed: FuzzedNode, transport: str, examples: int) -> None:
    @_settings(examples)
    @given(fuzz_inputs(transport))
    def feed(sample):
        fuzzed.feed(sample)

    feed()


@pytest.fixture(scope="module", params=image_node_kinds())
def campaign(request):
    """One node of each image kind, fuzzed raw then compressed, then flushed."""
    fuzzed = FuzzedNode(request.param)
    try:
        for sample in large_inputs():
            fuzzed.feed(sample)
        _fuzz(fuzzed, "raw", RAW_EXAMPLES)
        fuzzed.use_transport("compressed")
        _fuzz(fuzzed, "compressed", COMPRESSED_EXAMPLES)
        fuzzed.use_transport("raw")
        fuzzed.good_frame(FLUSH_FRAMES)
        snapshot = fuzzed.node.stats.snapshot()
        print(
            f"\n{fuzzed.kind}: {fuzzed.findings.sent} inputs "
            f"{dict(fuzzed.findings.by_transport)}; {snapshot.count} published; frames "
            f"failed {dict(fuzzed.ledger.failed)}; dropped before the worker "
            f"{dict(fuzzed.ledger.outside)}; per-result drops {dict(fuzzed.ledger.per_result)}; "
            f"outputs {dict(fuzzed.outputs)}; latency max {snapshot.latency_max_ms:.0f} ms"
        )
        yield fuzzed
    finally:
        fuzzed.close()


def _first(problems: list[str], count: int = 5) -> str:
    return f"{len(problems)} inputs, e.g.\n" + "\n".join(problems[:count])


def test_no_exception_escapes(campaign):
    assert not campaign.findings.exceptions, _first(campaign.findings.exceptions)
    assert not campaign.ledger.failed.get("exception"), dict(campaign.ledger.failed)


def test_node_stays_active_and_still_publishes_a_good_frame(campaign):
    assert not campaign.findings.inactive, _first(campaign.findings.inactive)
    assert campaign.good_frame() == 1


def test_no_input_stalls_the_node(campaign):
    assert not campaign.findings.stalled, _first(campaign.findings.stalled)


def test_no_published_float_is_nan_or_infinite(campaign):
    assert not campaign.findings.non_finite, _first(campaign.findings.non_finite)


def test_no_published_point_is_behind_the_camera_or_out_of_reach(campaign):
    assert not campaign.findings.impossible, _first(campaign.findings.impossible)


def test_every_input_is_published_for_or_counted_with_a_named_reason(campaign):
    """Each image sent is one frame the worker handled (published, or failed with a reason) or
    one drop counted before the worker (superseded, no CameraInfo): none vanishes."""
    ledger = campaign.ledger
    assert ledger.accounted == campaign.findings.sent, (
        f"{campaign.findings.sent} sent, {ledger.handled} handled, "
        f"{dict(ledger.outside)} dropped before the worker"
    )
    unnamed = {reason for reason in {*ledger.failed, *ledger.outside} if reason.startswith("<")}
    assert not unnamed, dict(ledger.failed)


def test_the_nodes_own_accounting_balances(campaign):
    """Where the node counts what it receives: every image sent was received, and received =
    processed + dropped (every reason, superseded included)."""
    snapshot = campaign.node.stats.snapshot()
    if not getattr(snapshot, "received", 0):
        pytest.skip("this node does not count the inputs it receives")
    assert snapshot.received == campaign.findings.sent
    assert snapshot.received == snapshot.count + snapshot.dropped, snapshot


def test_diagnostics_show_every_drop_reason(campaign):
    """The counters reach /diagnostics: its last status names every reason counted."""
    name = campaign.node.get_name()
    reasons = set(campaign.node.stats.snapshot().drops)

    def shown() -> set[str]:
        for array in reversed(campaign.diagnostics):
            for status in array.status:
                if status.hardware_id == name:
                    keys = {kv.key for kv in status.values}
                    return {key.partition(".")[2] for key in keys if key.startswith("dropped.")}
        return set()

    assert wait_for(lambda: reasons <= shown(), 5), (reasons, shown())


def test_bad_stamps_leave_the_latency_statistics_sane(campaign):
    """Good frames are stamped when sent, so no latency of a minute or more is real."""
    latency_max_ms = campaign.node.stats.snapshot().latency_max_ms
    assert latency_max_ms < 60_000, latency_max_ms
