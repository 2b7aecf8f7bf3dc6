"""generator.batching: the shared-prefix cache reaches the model under the name its forward() takes."""

from __future__ import annotations

from generator.batching import cache_kwarg


class _Recent:
    def forward(self, input_ids=None, attention_mask=None, cache=None, use_cache=None):  # transformers ≥ 5.2x
        return None


class _Older:
    def forward(self, input_ids=None, attention_mask=None, past_key_values=None, use_cache=None):  # e.g. 5.17
        return None


class _PeftWrapper:
    """Like peft's PeftModel: forward(*args, **kwargs), the real signature on the base model."""

    def __init__(self, base):
        self.base = base

    def forward(self, *args, **kwargs):
        return self.base.forward(*args, **kwargs)

    def get_base_model(self):
        return self.base


def test_the_cache_goes_by_the_name_forward_takes():
    assert cache_kwarg(_Recent()) == "cache"
    assert cache_kwarg(_Older()) == "past_key_values"


def test_a_peft_wrapper_is_read_through_to_its_base_model():
    assert cache_kwarg(_PeftWrapper(_Recent())) == "cache"
    assert cache_kwarg(_PeftWrapper(_Older())) == "past_key_values"
