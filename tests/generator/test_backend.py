import json

import pytest

from generator import backend


def test_smollm2_gguf_is_found_without_importing_the_package():
    path = backend.smollm2_gguf()
    assert path.suffix == ".gguf" and path.stat().st_size > 10_000_000


def test_cache_marker_must_match_the_gguf(tmp_path):
    gguf = backend.smollm2_gguf()
    folder = backend.cache_dir_for(gguf, tmp_path)
    assert folder.parent == tmp_path and not backend._cache_is_valid(folder, gguf)
    folder.mkdir()
    (folder / "model.safetensors").write_bytes(b"x")
    (folder / backend._CACHE_MARKER).write_text(json.dumps({"file": gguf.name, "size": 1}))
    assert not backend._cache_is_valid(folder, gguf)  # a different (e.g. upgraded) GGUF
    (folder / backend._CACHE_MARKER).write_text(json.dumps({"file": gguf.name, "size": gguf.stat().st_size}))
    assert backend._cache_is_valid(folder, gguf)


def test_device_resolution_on_cpu():
    import torch

    assert backend.resolve_device("cpu") == ("cpu", torch.float32)
    if not torch.cuda.is_available():
        assert backend.resolve_device("auto")[0] == "cpu"
        with pytest.raises(RuntimeError, match="no CUDA"):
            backend.resolve_device("cuda")
    with pytest.raises(ValueError):
        backend.resolve_device("tpu")
