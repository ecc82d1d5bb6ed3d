import pytest

from handperception.ros.sync import ApproximateTimeSynchronizer
from handperception.runtime.stats import RateLatencyMonitor


def test_exact_and_approximate_pairs_emitted_once_in_order():
    pairs = []
    sync = ApproximateTimeSynchronizer(2, 5, slop_ns=10, callback=lambda a, b: pairs.append((a, b)))
    sync.add(0, 100, "img100")
    sync.add(1, 100, "info100")
    sync.add(1, 205, "info205")
    sync.add(0, 200, "img200")  # 5 ns apart: within slop
    sync.add(0, 300, "img300")
    sync.add(1, 330, "info330")  # 30 ns apart: too far
    assert pairs == [("img100", "info100"), ("img200", "info205")]


def test_late_partner_and_stale_messages():
    pairs = []
    sync = ApproximateTimeSynchronizer(2, 2, slop_ns=0, callback=lambda a, b: pairs.append((a, b)))
    for stamp in (1, 2, 3):  # queue of 2: stamp 1 falls out
        sync.add(0, stamp, f"img{stamp}")
    sync.add(1, 1, "info1")
    sync.add(1, 3, "info3")
    sync.add(1, 2, "info2")  # older than the emitted pair: its image was discarded
    assert pairs == [("img3", "info3")]


def test_three_topics_and_bad_arguments():
    sets = []
    sync = ApproximateTimeSynchronizer(3, 4, slop_ns=5, callback=lambda *m: sets.append(m))
    sync.add(0, 10, "a")
    sync.add(1, 12, "b")
    assert sets == []
    sync.add(2, 8, "c")
    assert sets == [("a", "b", "c")]
    with pytest.raises(ValueError):
        ApproximateTimeSynchronizer(1, 4, 5, print)


def test_monitor_rate_latency_and_drops():
    now = [0.0]
    monitor = RateLatencyMonitor(window_s=2.0, clock=lambda: now[0])
    for i in range(11):  # 10 Hz for one second
        now[0] = i * 0.1
        monitor.record(latency_s=0.010 + 0.001 * i)
    monitor.drop("bad_image")
    monitor.drop("bad_image")
    snapshot = monitor.snapshot()
    assert snapshot.count == 11
    assert snapshot.rate_hz == pytest.approx(10.0)
    assert snapshot.latency_p50_ms == pytest.approx(15.0)
    assert snapshot.latency_max_ms == pytest.approx(20.0)
    assert snapshot.drops == {"bad_image": 2} and snapshot.dropped == 2
    now[0] = 10.0  # everything left the window
    assert monitor.snapshot().rate_hz == 0.0


def test_messages_that_leave_unmatched_are_reported():
    pairs, lost = [], []
    sync = ApproximateTimeSynchronizer(
        2, 2, 0, lambda a, b: pairs.append((a, b)), lambda t, m: lost.append((t, m))
    )
    sync.add(0, 1, "img1")
    sync.add(0, 2, "img2")
    sync.add(0, 3, "img3")  # queue of 2 is full: img1 pushed out
    assert lost == [(0, "img1")]
    sync.add(1, 3, "info3")  # pairs img3; img2 is older than the pair and leaves unmatched
    assert pairs == [("img3", "info3")]
    assert lost == [(0, "img1"), (0, "img2")]


def test_a_message_leaves_as_soon_as_its_partner_cannot_come():
    """Stamps increase on each topic: once the other topic is past a message by more than the
    slop with nothing near it queued, the message is reported at once, not when the queue
    overflows."""
    pairs, lost = [], []
    sync = ApproximateTimeSynchronizer(
        2, 5, 10, lambda a, b: pairs.append((a, b)), lambda t, m: lost.append((t, m))
    )
    sync.add(0, 100, "img100")
    sync.add(0, 200, "img200")
    sync.add(1, 105, "info105")  # pairs img100
    assert pairs == [("img100", "info105")] and lost == []
    sync.add(1, 300, "info300")  # img200's CameraInfo (200 +- 10) can no longer come
    assert lost == [(0, "img200")]
    sync.add(0, 250, "img250")  # arrives after its chance: lost on arrival
    assert lost == [(0, "img200"), (0, "img250")]
    sync.add(0, 310, "img310")  # within the slop of info300: a pair
    assert pairs[-1] == ("img310", "info300") and len(lost) == 2
    sync.add(0, 400, "img400")
    assert sync.drain() == [(0, "img400")] and sync.drain() == []


def test_monitor_counts_inputs_and_results_apart():
    monitor = RateLatencyMonitor()
    for _ in range(5):
        monitor.receive()
    monitor.record(0.01)
    monitor.record(None)  # processed, no latency known
    monitor.drop("superseded")
    monitor.drop("bad_stamp")
    monitor.drop_result("low_confidence")  # a hand of a processed frame
    monitor.drop_result("low_confidence")
    snapshot = monitor.snapshot()
    assert snapshot.received == 5 and snapshot.count == 2 and snapshot.dropped == 2
    assert snapshot.result_drops == {"low_confidence": 2}
    assert snapshot.latency_max_ms == pytest.approx(10.0)
    values = snapshot.as_dict()
    assert values["received"] == 5 and values["result_drops"] == {"low_confidence": 2}
    # one frame still in flight: received = processed + dropped + 1
    assert snapshot.received == snapshot.count + snapshot.dropped + 1
