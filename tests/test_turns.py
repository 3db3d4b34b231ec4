"""ModelTurns: one holder at a time, first come first served, and each waiter told its place in line."""

import threading
import time

from app.reason.turns import ModelTurns


def test_one_at_a_time_in_arrival_order_with_positions():
    turns = ModelTurns()
    order, positions, inside = [], {}, []
    gate = threading.Event()

    def worker(name):
        seen = []
        with turns.turn(on_wait=seen.append):
            inside.append(name)
            assert len(inside) == 1, "two requests held the model at once"
            order.append(name)
            if name == 0:
                gate.wait(5)
            time.sleep(0.01)
            inside.remove(name)
        positions[name] = seen

    first = threading.Thread(target=worker, args=(0,))
    first.start()
    while turns.waiting == 0 and not order:
        time.sleep(0.001)
    others = []
    for name in range(1, 5):
        t = threading.Thread(target=worker, args=(name,))
        t.start()
        others.append(t)
        while turns.waiting < name:  # arrive one after another
            time.sleep(0.001)
    assert turns.waiting == 4
    gate.set()
    for t in [first, *others]:
        t.join(5)
    assert order == [0, 1, 2, 3, 4]
    assert positions[0] == []  # never waited
    assert positions[4][0] == 4 and positions[4][-1] == 1  # counted down to the head of the line
    assert turns.waiting == 0


def test_turn_released_when_the_holder_fails():
    turns = ModelTurns()
    try:
        with turns.turn():
            raise RuntimeError("model crashed")
    except RuntimeError:
        pass
    with turns.turn():  # would block forever if the failed turn were kept
        assert turns.waiting == 0
