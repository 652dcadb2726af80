"""Errors of the paper exchange: its pure book and its Kafka edge."""

from __future__ import annotations

from schemas.errors import HfosError


class ExchangeError(HfosError):
    """Base of every paper-exchange error."""


class BookConfigError(ExchangeError):
    """A book setting outside its range; ``field`` names it."""

    def __init__(self, field: str, value: object, allowed: str) -> None:
        super().__init__(f"paper exchange {field}={value!r} refused: allowed {allowed}")
        self.field = field
        self.value = value
        self.allowed = allowed


class UnknownAccountError(ExchangeError):
    """An order for an account the exchange was not told to fund."""

    def __init__(self, account_id: str, order_id: str) -> None:
        super().__init__(
            f"order {order_id}: account {account_id!r} is not funded on this paper exchange; "
            f"start it with --account {account_id}"
        )
        self.account_id = account_id
        self.order_id = order_id


class DuplicateOrderError(ExchangeError):
    """An order id that was filled before (a replay must be skipped, never refilled)."""

    def __init__(self, order_id: str) -> None:
        super().__init__(f"order {order_id} was already filled")
        self.order_id = order_id


class InvalidPriceError(ExchangeError):
    """A fill or mark price that is not a finite number > 0 (a ``market.price`` record
    carrying one goes to the DLQ)."""

    def __init__(self, symbol: str, price: float) -> None:
        super().__init__(f"{symbol}: price {price!r} is not a finite number > 0")
        self.symbol = symbol
        self.price = price


class InvalidOrderError(ExchangeError):
    """An order no fill can be made from (its record goes to the DLQ)."""

    def __init__(self, order_id: str, field: str, value: object, allowed: str) -> None:
        super().__init__(f"order {order_id}: {field}={value!r} refused: must be {allowed}")
        self.order_id = order_id
        self.field = field
        self.value = value
        self.allowed = allowed


class MissingTopicsError(ExchangeError):
    """Topics the exchange reads or writes do not exist on the broker."""

    def __init__(self, topics: list[str]) -> None:
        super().__init__(
            f"missing topics: {', '.join(topics)}; provision them with `hfos topics create` "
            "(same HFOS_TOPIC_PREFIX)"
        )
        self.topics = topics


class NothingToReduceError(ExchangeError):
    """A reduce-only order for a position the account does not hold (any more): the venue
    answers it on ``order.failed`` (NOTHING_TO_REDUCE) instead of filling nothing."""

    def __init__(self, order_id: str, account_id: str, symbol: str) -> None:
        super().__init__(
            f"order {order_id}: reduce-only, but {account_id} holds no {symbol} position "
            "to reduce (it closed before the order arrived)"
        )
        self.order_id = order_id
        self.account_id = account_id
        self.symbol = symbol
