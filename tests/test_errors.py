"""One mapping from errors to exit codes and HTTP statuses."""

from __future__ import annotations

import pytest

from loopml import errors as e


@pytest.mark.parametrize(
    ("error", "exit_code", "status"),
    [
        (e.InvalidInputError("bad"), 2, 400),
        (e.FilterSyntaxError("bad", position=0, token="x", text="x"), 2, 400),
        (e.NotFoundError("gone"), 1, 404),
        (e.AlreadyExistsError("taken"), 1, 409),
        (e.ParamConflictError("changed"), 1, 409),
        (e.PermissionDeniedError("no"), 1, 403),
        (e.StoreError("down"), 1, 500),
        (e.CorruptObjectError("bits"), 1, 500),
    ],
)
def test_mapping(error: e.LoopmlError, exit_code: int, status: int) -> None:
    assert e.exit_code_for(error) == exit_code
    assert e.http_status_for(error) == status


def test_errors_subclass_the_nearest_builtin() -> None:
    assert isinstance(e.InvalidInputError("x"), ValueError)
    assert isinstance(e.NotFoundError("x"), LookupError)
    assert isinstance(e.MissingExtraError("S3", "s3", "s3fs"), ImportError)


def test_message_carries_hint_and_dict_form() -> None:
    err = e.NotFoundError("run abc not found", run_id="abc", hint="see `loopml runs list`")
    assert str(err) == "run abc not found (see `loopml runs list`)"
    assert err.to_dict() == {
        "error": "NotFoundError",
        "message": "run abc not found",
        "run_id": "abc",
        "hint": "see `loopml runs list`",
    }


def test_missing_extra_says_what_to_install() -> None:
    assert "pip install 'loopml[s3]'" in str(e.MissingExtraError("S3 object store", "s3", "s3fs"))


def test_filter_syntax_error_points_at_the_token() -> None:
    err = e.FilterSyntaxError("unexpected token", position=4, token="adn", text="a = 1 adn")
    assert "position 4" in str(err)
    assert "    ^" in str(err)
