from engine.desk.client_orders import ExecIds


def test_take_gives_the_ids_next_would_across_thousands():
    one_by_one, in_blocks = ExecIds("E"), ExecIds("E")
    for n in (0, 1, 998, 3, 1_000, 1_001, 2_500, 7):
        assert in_blocks.take(n) == [one_by_one.next() for _ in range(n)]
        assert in_blocks.count == one_by_one.count
    in_blocks.count = one_by_one.count = 99_998  # e.g. after recovery
    assert (
        in_blocks.take(3)
        == ["E99999", "E100000", "E100001"]
        == [one_by_one.next() for _ in range(3)]
    )


def test_take_keeps_the_prefix():
    assert ExecIds("X7-").take(2) == ["X7-1", "X7-2"]


def test_ids_are_the_numbers_after_the_prefix_across_thousands():
    for prefix in ("E", "", "shard\n2-"):  # a newline cannot split the thousand's block
        ids = ExecIds(prefix)
        made = ids.take(1_500) + [ids.next() for _ in range(1_001)] + ids.take(2)
        assert made == [f"{prefix}{n}" for n in range(1, 2_504)]
