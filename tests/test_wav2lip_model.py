"""The Wav2Lip generator, its checkpoints and its cached ONNX export (avatarlab.render.wav2lip; docs/wav2lip.md).

One full-size random-weight generator (36.3 M parameters) per module, saved in the released checkpoints' format;
each real export takes seconds, so the cache tests that are about where files go reuse the one export's bytes.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import torch

from avatarlab.render.wav2lip import (CheckpointError, CheckpointMismatchError, CheckpointNotFoundError, DeviceError,
                                      InferenceInputError, Wav2LipError, Wav2LipModel, onnx_export)
from avatarlab.render.wav2lip.checkpoint import load_generator, read_state_dict
from avatarlab.render.wav2lip.model import Wav2LipGenerator
from wav2lip_weights import numpy_state, random_generator, save_public_checkpoint

ROOT = Path(__file__).resolve().parents[1]

#: Facts of the released wav2lip.pth / wav2lip_gan.pth (Rudrabha/Wav2Lip models/wav2lip.py): keys and shapes.
PUBLIC_SHAPES = {
    "face_encoder_blocks.0.0.conv_block.0.weight": (16, 6, 7, 7),
    "face_encoder_blocks.2.3.conv_block.1.running_var": (64,),
    "face_encoder_blocks.6.1.conv_block.0.weight": (512, 512, 1, 1),
    "audio_encoder.0.conv_block.0.weight": (32, 1, 3, 3),
    "audio_encoder.9.conv_block.0.weight": (256, 128, 3, 3),
    "audio_encoder.12.conv_block.0.weight": (512, 512, 1, 1),
    "face_decoder_blocks.0.0.conv_block.0.weight": (512, 512, 1, 1),
    "face_decoder_blocks.1.0.conv_block.0.weight": (1024, 512, 3, 3),  # ConvTranspose2d: (in, out, k, k)
    "face_decoder_blocks.3.0.conv_block.0.weight": (768, 384, 3, 3),
    "face_decoder_blocks.6.2.conv_block.1.num_batches_tracked": (),
    "output_block.0.conv_block.0.weight": (32, 80, 3, 3),
    "output_block.1.weight": (3, 32, 1, 1),
    "output_block.1.bias": (3,),
}
PUBLIC_TENSORS = 352  # entries in the released state dicts (parameters and BatchNorm buffers)
PUBLIC_PARAMETERS = 36_298_035


#: The original code's output (Rudrabha/Wav2Lip models/wav2lip.py at 5c90fa9, run here once) for numpy_state(seed 11)
#: on the inputs of test_matches_the_original_code, as 24x24-pixel block means: (sample, channel, row, column).
#: It pins what shapes cannot: residual flags, skip order, activations (one residual flag off moves it by >= 0.004).
ORIGINAL_BLOCK_MEANS = np.array([
    [[[0.381433, 0.376572, 0.375977, 0.375835], [0.373527, 0.368266, 0.367199, 0.368648],
      [0.358442, 0.354662, 0.354730, 0.354901], [0.363777, 0.360525, 0.360202, 0.362370]],
     [[0.595440, 0.622157, 0.618227, 0.583249], [0.622067, 0.656784, 0.648950, 0.606960],
      [0.607997, 0.643469, 0.639435, 0.591332], [0.567113, 0.595315, 0.590804, 0.561519]],
     [[0.406353, 0.386803, 0.391499, 0.411555], [0.386909, 0.366831, 0.367854, 0.397677],
      [0.385289, 0.366100, 0.368131, 0.397291], [0.406053, 0.392371, 0.394303, 0.412486]]],
    [[[0.380952, 0.374150, 0.377543, 0.375052], [0.371192, 0.367293, 0.367743, 0.368984],
      [0.360031, 0.354830, 0.351755, 0.353717], [0.366713, 0.360039, 0.360044, 0.361462]],
     [[0.592689, 0.620576, 0.620477, 0.583971], [0.620035, 0.651803, 0.647719, 0.607417],
      [0.610034, 0.642999, 0.636913, 0.591346], [0.569114, 0.594057, 0.589122, 0.563892]],
     [[0.405987, 0.389603, 0.390034, 0.410644], [0.385607, 0.370656, 0.369365, 0.397054],
      [0.383132, 0.366885, 0.367702, 0.397422], [0.406524, 0.392208, 0.394908, 0.412130]]],
], dtype=np.float32)


@pytest.fixture(scope="module")
def generator() -> Wav2LipGenerator:
    return random_generator(seed=7)


@pytest.fixture(scope="module")
def state(generator: Wav2LipGenerator) -> dict[str, torch.Tensor]:
    return {key: value.clone() for key, value in generator.state_dict().items()}


@pytest.fixture(scope="module")
def inputs() -> tuple[np.ndarray, np.ndarray]:
    """Five (face, mel) pairs: faces in [0, 1] with the lower half of the target masked, mels in the
    original's normalised range [-4, 4]."""
    rng = np.random.default_rng(3)
    faces = rng.random((5, 6, 96, 96), dtype=np.float32)
    faces[:, :3, 48:] = 0.0
    mels = (rng.random((5, 1, 80, 16), dtype=np.float32) * 8.0 - 4.0).astype(np.float32)
    return faces, mels


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory: pytest.TempPathFactory, state: dict[str, torch.Tensor]) -> Path:
    """The released format exactly: wrapped, `module.` keys, legacy file format."""
    return save_public_checkpoint(tmp_path_factory.mktemp("public") / "wav2lip_gan.pth", state)


@pytest.fixture(scope="module")
def exported(checkpoint: Path) -> Wav2LipModel:
    """The one real export of the module (the cache tests below load it again)."""
    return Wav2LipModel.load(checkpoint, device="cpu", batch_size=2)


@pytest.fixture()
def cache_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A user cache folder of this test's own."""
    monkeypatch.setenv(onnx_export.CACHE_ENV, str(tmp_path / "user-cache"))
    return tmp_path / "user-cache" / "wav2lip"


def _torch_out(model: Wav2LipGenerator, faces: np.ndarray, mels: np.ndarray) -> np.ndarray:
    with torch.no_grad():
        return model(torch.from_numpy(mels), torch.from_numpy(faces)).numpy()


def test_layout_is_the_released_checkpoints(generator: Wav2LipGenerator):
    shapes = {key: tuple(value.shape) for key, value in generator.state_dict().items()}
    assert len(shapes) == PUBLIC_TENSORS
    assert sum(p.numel() for p in generator.parameters()) == PUBLIC_PARAMETERS
    for key, shape in PUBLIC_SHAPES.items():
        assert shapes[key] == shape, key


def test_matches_the_original_code():
    model = random_generator(seed=0)
    model.load_state_dict(numpy_state(model, seed=11))
    rng = np.random.default_rng(5)
    faces = rng.random((2, 6, 96, 96), dtype=np.float32)
    faces[:, :3, 48:] = 0.0
    mels = (rng.random((2, 1, 80, 16), dtype=np.float32) * 8.0 - 4.0).astype(np.float32)
    blocks = _torch_out(model, faces, mels).reshape(2, 3, 4, 24, 4, 24).mean(axis=(3, 5))
    assert np.abs(blocks - ORIGINAL_BLOCK_MEANS).max() < 1e-4


def test_forward_contract(generator: Wav2LipGenerator, inputs: tuple[np.ndarray, np.ndarray]):
    faces, mels = inputs
    out = _torch_out(generator, faces, mels)
    assert out.shape == (5, 3, 96, 96) and out.dtype == np.float32
    assert 0.0 <= out.min() and out.max() <= 1.0
    assert out.std() > 0.0  # not a constant: the random weights make noise, as docs/wav2lip.md says


@pytest.mark.parametrize("prefix", [True, False], ids=["module-prefix", "no-prefix"])
@pytest.mark.parametrize("legacy", [True, False], ids=["legacy-format", "zip-format"])
def test_public_formats_load(tmp_path: Path, state: dict[str, torch.Tensor], prefix: bool, legacy: bool):
    path = save_public_checkpoint(tmp_path / "g.pth", state, prefix=prefix, legacy=legacy, gpu_saved=True)
    with path.open("rb") as handle:  # the zip format starts with a zip header, the legacy one with a pickle
        assert (handle.read(2) == b"PK") == (not legacy)
    if not torch.cuda.is_available():  # saved from a GPU, as the released files: reading needs map_location
        with pytest.raises(RuntimeError, match="CUDA"):
            torch.load(path, weights_only=True)
    loaded = load_generator(path).state_dict()
    assert loaded.keys() == state.keys()
    assert all(torch.equal(loaded[key], state[key]) for key in state)


def test_bare_state_dict_loads(tmp_path: Path, state: dict[str, torch.Tensor]):
    path = save_public_checkpoint(tmp_path / "bare.pth", state, prefix=False, legacy=False, wrapped=False)
    assert set(read_state_dict(path)) == set(state)
    load_generator(path)


def test_float16_checkpoint_loads_as_float32(tmp_path: Path, state: dict[str, torch.Tensor]):
    half = {key: value.half() if value.is_floating_point() else value for key, value in state.items()}
    path = save_public_checkpoint(tmp_path / "half.pth", half, legacy=False)
    loaded = load_generator(path).state_dict()
    key = "face_encoder_blocks.0.0.conv_block.0.weight"
    assert loaded[key].dtype == torch.float32 and torch.equal(loaded[key], half[key].float())


def test_checkpoint_without_batchnorm_counters_loads(tmp_path: Path, state: dict[str, torch.Tensor]):
    """Checkpoints saved by torch before 0.4.1 have no num_batches_tracked; eval mode never uses it."""
    old = {key: value for key, value in state.items() if not key.endswith("num_batches_tracked")}
    path = save_public_checkpoint(tmp_path / "old.pth", old)
    loaded = load_generator(path).state_dict()
    assert all(torch.equal(loaded[key], old[key]) for key in old)


def test_renamed_tensor_is_named(tmp_path: Path, state: dict[str, torch.Tensor], cache_dir: Path):
    key = "face_decoder_blocks.3.1.conv_block.1.weight"
    renamed = {("face_decoder_blocks.3.1.conv_block.1.gamma" if k == key else k): v for k, v in state.items()}
    path = save_public_checkpoint(tmp_path / "renamed.pth", renamed)
    with pytest.raises(CheckpointMismatchError) as caught:
        Wav2LipModel.load(path, device="cpu")
    message = str(caught.value)
    assert "1 missing keys: 'face_decoder_blocks.3.1.conv_block.1.weight'" in message
    assert "1 unexpected keys: 'face_decoder_blocks.3.1.conv_block.1.gamma'" in message
    assert "wav2lip_gan.pth" in message and "SyncNet" not in message
    assert caught.value.missing == [key] and not caught.value.mismatched
    assert isinstance(caught.value, Wav2LipError)
    assert not list(tmp_path.glob("*.onnx")) and not cache_dir.exists()  # nothing exported, nothing half-written


def test_reshaped_tensor_is_named(tmp_path: Path, state: dict[str, torch.Tensor]):
    key = "audio_encoder.3.conv_block.0.weight"
    reshaped = dict(state)
    reshaped[key] = state[key].reshape(32, 64, 3, 3)
    path = save_public_checkpoint(tmp_path / "reshaped.pth", reshaped)
    with pytest.raises(CheckpointMismatchError) as caught:
        load_generator(path)
    assert f"1 shape mismatches: '{key}' expected [64, 32, 3, 3] found [32, 64, 3, 3]" in str(caught.value)
    assert "missing" not in str(caught.value) and "unexpected" not in str(caught.value)


def test_many_differences_are_capped(tmp_path: Path, state: dict[str, torch.Tensor]):
    half = {key: value for key, value in state.items() if not key.startswith("face_decoder_blocks")}
    with pytest.raises(CheckpointMismatchError) as caught:
        load_generator(save_public_checkpoint(tmp_path / "half.pth", half, legacy=False))
    missing = caught.value.missing
    assert len(missing) > 100
    assert f"{len(missing)} missing keys: " in str(caught.value) and f"and {len(missing) - 5} more" in str(caught.value)
    assert missing[5] not in str(caught.value)


def test_syncnet_expert_is_recognised(tmp_path: Path, state: dict[str, torch.Tensor]):
    """lip_sync_expert.pth: a face_encoder (15 channels in: 5 stacked lower faces) and the same audio encoder."""
    syncnet = {key: value for key, value in state.items() if key.startswith("audio_encoder.")}
    syncnet["face_encoder.0.conv_block.0.weight"] = torch.zeros(32, 15, 7, 7)
    syncnet["face_encoder.0.conv_block.0.bias"] = torch.zeros(32)
    path = save_public_checkpoint(tmp_path / "lip_sync_expert.pth", syncnet, legacy=False)
    with pytest.raises(CheckpointMismatchError, match="SyncNet lip-sync expert .lip_sync_expert.pth.") as caught:
        load_generator(path)
    assert "not a generator" in str(caught.value)
    assert "a Wav2Lip generator checkpoint such as wav2lip_gan.pth" in str(caught.value)


def test_discriminator_is_recognised(tmp_path: Path):
    disc = {"face_encoder_blocks.0.0.conv_block.0.weight": torch.zeros(32, 3, 7, 7),
            "binary_pred.0.weight": torch.zeros(1, 512, 1, 1)}
    with pytest.raises(CheckpointMismatchError, match="visual_quality_disc.pth"):
        load_generator(save_public_checkpoint(tmp_path / "disc.pth", disc, legacy=False))


def test_missing_and_foreign_files(tmp_path: Path):
    with pytest.raises(CheckpointNotFoundError, match="checkpoint not found: .*nope.pth.*never downloads"):
        Wav2LipModel.load(tmp_path / "nope.pth")
    with pytest.raises(CheckpointError, match="not a file"):
        Wav2LipModel.load(tmp_path)
    for name, data in (("text.pth", b"hello, not a checkpoint\n"), ("empty.pth", b""),
                       ("zip.pth", b"PK\x03\x04" + bytes(64))):
        (tmp_path / name).write_bytes(data)
        with pytest.raises(CheckpointError, match="is not a torch checkpoint"):
            Wav2LipModel.load(tmp_path / name)
    torch.save({"state_dict": {"a": 1.5}}, tmp_path / "numbers.pth")
    with pytest.raises(CheckpointError, match="the values of 'a' are not tensors"):
        load_generator(tmp_path / "numbers.pth")
    torch.save([torch.zeros(2)], tmp_path / "list.pth")
    with pytest.raises(CheckpointError, match="holds no state dict"):
        load_generator(tmp_path / "list.pth")
    assert not list(tmp_path.glob("*.onnx"))


class _Payload:
    """Unpickling this object would create a file: weights_only loading must refuse it, not run it."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (self.marker,))


def test_pickled_code_is_refused_not_run(tmp_path: Path, state: dict[str, torch.Tensor]):
    marker = tmp_path / "ran"
    torch.save({"state_dict": {"a": torch.zeros(1)}, "extra": _Payload(marker)}, tmp_path / "evil.pth")
    with pytest.raises(CheckpointError, match="weights_only=True"):
        load_generator(tmp_path / "evil.pth")
    assert not marker.exists()


def test_onnx_matches_torch(exported: Wav2LipModel, generator: Wav2LipGenerator,
                            inputs: tuple[np.ndarray, np.ndarray], checkpoint: Path):
    faces, mels = inputs
    assert exported.exported and exported.device == "cpu" and exported.batch_size == 2
    assert exported.onnx_path.parent == checkpoint.parent
    assert exported.onnx_path.name == f"wav2lip_gan.{exported.sha256[:16]}.v1.onnx"
    out = exported.predict(faces, mels)  # batches of 2, 2 and 1 on the dynamic batch axis
    assert out.shape == (5, 3, 96, 96) and out.dtype == np.float32
    assert 0.0 <= out.min() and out.max() <= 1.0
    assert np.abs(out - _torch_out(generator, faces, mels)).max() < 1e-4
    assert np.abs(out - _torch_out(load_generator(checkpoint), faces, mels)).max() < 1e-4
    assert exported.session.get_inputs()[0].shape[0] == "batch"


def test_predict_is_deterministic_and_batch_independent(exported: Wav2LipModel,
                                                        inputs: tuple[np.ndarray, np.ndarray]):
    faces, mels = inputs
    first = exported.predict(faces, mels)
    assert np.array_equal(first, exported.predict(faces, mels))
    one = Wav2LipModel.load(exported.checkpoint, device="cpu", batch_size=1).predict(faces, mels)
    assert np.abs(one - first).max() < 1e-5
    assert np.array_equal(one[2:3], exported.predict(faces[2:3], mels[2:3]))


def test_predict_checks_its_inputs(exported: Wav2LipModel, inputs: tuple[np.ndarray, np.ndarray]):
    faces, mels = inputs
    with pytest.raises(InferenceInputError, match=r"faces must have shape \(n, 6, 96, 96\), got \(5, 3, 96, 96\)"):
        exported.predict(faces[:, :3], mels)
    with pytest.raises(InferenceInputError, match=r"mels must have shape \(n, 1, 80, 16\)"):
        exported.predict(faces, mels[:, 0])
    with pytest.raises(InferenceInputError, match="same length, got 5 and 4"):
        exported.predict(faces, mels[:4])
    bad = mels.copy()
    bad[1, 0, 3, 3] = np.nan
    with pytest.raises(InferenceInputError, match="NaN"):
        exported.predict(faces, bad)
    with pytest.raises(InferenceInputError, match="float32 array"):
        exported.predict(faces, "mels")
    assert exported.predict(faces[:0], mels[:0]).shape == (0, 3, 96, 96)
    as_float64 = exported.predict(faces[:1].astype(np.float64), mels[:1].astype(np.float64))
    assert np.array_equal(as_float64, exported.predict(faces[:1], mels[:1]))
    with pytest.raises(InferenceInputError, match="batch_size"):
        Wav2LipModel.load(exported.checkpoint, batch_size=0)


def test_devices(exported: Wav2LipModel):
    import onnxruntime

    with pytest.raises(DeviceError, match="unknown device 'tpu': use one of auto, cpu, cuda"):
        Wav2LipModel.load(exported.checkpoint, device="tpu")
    if "CUDAExecutionProvider" not in onnxruntime.get_available_providers():
        with pytest.raises(DeviceError, match="onnxruntime-gpu"):
            Wav2LipModel.load(exported.checkpoint, device="cuda")
        assert Wav2LipModel.load(exported.checkpoint, device="auto").device == "cpu"


def test_cache_is_reused(exported: Wav2LipModel, monkeypatch: pytest.MonkeyPatch):
    stamp = exported.onnx_path.stat().st_mtime_ns

    def no_export(*args: object) -> bytes:
        raise AssertionError("exported again")

    monkeypatch.setattr(onnx_export, "export_bytes", no_export)
    again = Wav2LipModel.load(exported.checkpoint, device="cpu")
    assert not again.exported and again.onnx_path == exported.onnx_path and again.sha256 == exported.sha256
    assert exported.onnx_path.stat().st_mtime_ns == stamp
    assert sorted(p.name for p in exported.checkpoint.parent.iterdir()) == sorted(
        [exported.checkpoint.name, exported.onnx_path.name])  # no temporary file left behind


def test_changed_checkpoint_is_exported_again(tmp_path: Path, state: dict[str, torch.Tensor], exported: Wav2LipModel,
                                              inputs: tuple[np.ndarray, np.ndarray]):
    changed = dict(state)
    changed["output_block.1.bias"] = state["output_block.1.bias"] + 0.5
    path = save_public_checkpoint(tmp_path / "wav2lip_gan.pth", changed)
    shutil.copy(exported.onnx_path, tmp_path / exported.onnx_path.name)  # the old checkpoint's export, beside it
    model = Wav2LipModel.load(path, device="cpu")
    assert model.exported and model.sha256 != exported.sha256 and model.onnx_path.name != exported.onnx_path.name
    faces, mels = inputs
    out = model.predict(faces, mels)
    assert np.abs(out - _torch_out(load_generator(path), faces, mels)).max() < 1e-4
    assert np.abs(out - exported.predict(faces, mels)).max() > 0.01


def test_cache_with_wrong_hash_or_damage_is_replaced(tmp_path: Path, exported: Wav2LipModel,
                                                     monkeypatch: pytest.MonkeyPatch, cache_dir: Path):
    """A file under the cache's name that is not a model, or is the export of another checkpoint, is exported
    over (here with the module's one export, to keep the test short)."""
    export = exported.onnx_path.read_bytes()
    calls: list[Path] = []

    def reuse(checkpoint: Path, sha256: str) -> bytes:
        calls.append(checkpoint)
        return export

    monkeypatch.setattr(onnx_export, "export_bytes", reuse)
    path = tmp_path / "wav2lip_gan.pth"
    shutil.copy(exported.checkpoint, path)
    target = tmp_path / exported.onnx_path.name
    target.write_bytes(export[: len(export) // 2])  # cut short
    model = Wav2LipModel.load(path, device="cpu")
    assert model.exported and calls == [path] and model.onnx_path == target
    assert target.read_bytes() == export

    other = exported.sha256.replace(exported.sha256[0], "0" if exported.sha256[0] != "0" else "1")
    assert not onnx_export.matches({onnx_export.META_SHA256: other, onnx_export.META_VERSION: "1"}, exported.sha256)
    assert not onnx_export.matches({onnx_export.META_SHA256: exported.sha256, onnx_export.META_VERSION: "0"},
                                   exported.sha256)
    assert onnx_export.matches({onnx_export.META_SHA256: exported.sha256, onnx_export.META_VERSION: "1"},
                               exported.sha256)


def test_unwritable_folder_uses_the_user_cache(tmp_path: Path, exported: Wav2LipModel,
                                               monkeypatch: pytest.MonkeyPatch, cache_dir: Path):
    export = exported.onnx_path.read_bytes()
    monkeypatch.setattr(onnx_export, "export_bytes", lambda checkpoint, sha256: export)
    folder = tmp_path / "read-only"
    folder.mkdir()
    path = folder / "wav2lip_gan.pth"
    shutil.copy(exported.checkpoint, path)
    real_write = onnx_export.write_atomic

    def refuse_folder(data: bytes, target: Path) -> None:
        if target.is_relative_to(folder):  # root ignores chmod: refuse as a read-only mount would
            raise PermissionError(13, "Permission denied", str(target))
        real_write(data, target)

    monkeypatch.setattr(onnx_export, "write_atomic", refuse_folder)
    model = Wav2LipModel.load(path, device="cpu")
    assert model.exported and model.onnx_path == cache_dir / exported.onnx_path.name
    again = Wav2LipModel.load(path, device="cpu")
    assert not again.exported and again.onnx_path == model.onnx_path

    monkeypatch.setenv(onnx_export.CACHE_ENV, str(folder))
    with pytest.raises(Wav2LipError, match=f"cannot write the ONNX export.*set {onnx_export.CACHE_ENV}"):
        Wav2LipModel.load(path, device="cpu")


def test_cached_export_runs_without_torch(tmp_path: Path, exported: Wav2LipModel,
                                          inputs: tuple[np.ndarray, np.ndarray]):
    """Once exported, loading and predicting need no torch; without a cached export, the error names the extra."""
    faces, mels = inputs
    np.save(tmp_path / "faces.npy", faces)
    np.save(tmp_path / "mels.npy", mels)
    uncached = tmp_path / "copy" / "wav2lip_gan.pth"
    uncached.parent.mkdir()
    shutil.copy(exported.checkpoint, uncached)
    script = textwrap.dedent(f"""
        import sys
        sys.modules["torch"] = None  # import torch now raises ImportError
        import numpy as np
        from avatarlab.render.wav2lip import MissingDependencyError, Wav2LipModel
        model = Wav2LipModel.load({str(exported.checkpoint)!r}, device="cpu")
        assert not model.exported
        np.save({str(tmp_path / "out.npy")!r}, model.predict(np.load({str(tmp_path / "faces.npy")!r}),
                                                             np.load({str(tmp_path / "mels.npy")!r})))
        try:
            Wav2LipModel.load({str(uncached)!r})
        except MissingDependencyError as error:
            print("ERROR:", error)
    """)
    env = dict(os.environ, **{onnx_export.CACHE_ENV: str(tmp_path / "empty-cache")})
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300, env=env,
                          cwd=ROOT)
    assert done.returncode == 0, done.stderr
    assert "ERROR: reading a Wav2Lip checkpoint and exporting it to ONNX needs torch: pip install " \
           "'avatarlab[wav2lip]'" in done.stdout
    assert np.array_equal(np.load(tmp_path / "out.npy"), exported.predict(faces, mels))
