"""A Piper VITS graph split at load time into sentence-level stages and a chunkable waveform decoder.

Piper exports one ONNX graph: text encoder -> stochastic duration predictor
(``Ceil`` gives frames per phoneme id) -> flow -> HiFi-GAN decoder. We cut it
into ONNX sub-models so that:

* the per-id durations become an output (exact timings, no re-estimation);
* the random draws (``RandomNormalLike``) become inputs we fill from a seeded
  NumPy generator, so one seed gives one waveform, chunked or not;
* the decoder, which is fully convolutional, can run on overlapping windows of
  latent frames, so the first audio leaves before the sentence is decoded.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
from onnx import helper

from .errors import VoiceConfigError

_NOISE_OPS = frozenset({"RandomNormalLike"})
_UNSUPPORTED_RANDOM_OPS = frozenset({"RandomNormal", "RandomUniform", "RandomUniformLike", "Multinomial", "Bernoulli"})


@dataclass(frozen=True)
class _Noise:
    """A random draw replaced by an input: ``name`` is fed noise shaped like ``like``."""

    name: str
    like: str
    dtype: np.dtype


@dataclass
class _Stage:
    session: ort.InferenceSession
    inputs: list[str]
    outputs: list[str]
    noises_after: list[_Noise] = field(default_factory=list)


#: Latent frames of context on each side when the flow runs on a block of frames (measured: 32 keeps
#: blocks within 1e-5 of one pass for Piper voices; its coupling layers see about 32 frames each way).
FLOW_CONTEXT_FRAMES = 32
#: The flow's first block, enough for the first audio chunk; the rest of the sentence follows in one block.
FIRST_FLOW_BLOCK_FRAMES = 64


@dataclass
class SentenceLatent:
    """One sentence after the once-per-sentence stages: exact durations, and the flow's inputs.

    The flow (last stage) works frame by frame with a bounded receptive field,
    so its output ``latent`` is filled in blocks, only as far as decoding needs.
    """

    durations: np.ndarray  # int64 model frames per phoneme id
    num_frames: int
    conditioning: dict[str, np.ndarray]  # other decoder inputs (speaker embedding), per sentence
    flow_inputs: dict[str, np.ndarray]
    latent: np.ndarray  # (1, channels, frames) float32, valid up to ready_frames
    ready_frames: int = 0


def _session(model: onnx.ModelProto, threads: int | None) -> ort.InferenceSession:
    options = ort.SessionOptions()
    if threads:
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
    options.log_severity_level = 3
    # Shapes change with every sentence and chunk, so memory patterns never repeat; the engine bounds
    # decoder chunks instead, which bounds what each session's arena keeps.
    options.enable_mem_pattern = False
    # Several sessions run in turn; idle pool threads that spin would steal the cores from the next one.
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return ort.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"])


class _GraphIndex:
    """Producer/consumer lookups and element types for one ONNX graph."""

    def __init__(self, model: onnx.ModelProto) -> None:
        graph = model.graph
        self.nodes = list(graph.node)
        self.initializers = {init.name: init for init in graph.initializer}
        self.producer: dict[str, int] = {}
        self.consumers: dict[str, list[int]] = {}
        for index, node in enumerate(self.nodes):
            for name in node.output:
                self.producer[name] = index
            for name in node.input:
                if name:
                    self.consumers.setdefault(name, []).append(index)
        self.elem_type: dict[str, int] = {}
        inferred = onnx.shape_inference.infer_shapes(model, strict_mode=False)
        for info in [*inferred.graph.value_info, *inferred.graph.input, *inferred.graph.output]:
            self.elem_type[info.name] = info.type.tensor_type.elem_type

    def backward(self, targets: Iterable[str], stop: set[str]) -> set[int]:
        """Indices of the nodes needed to compute ``targets``, not looking past ``stop`` tensors."""
        seen: set[int] = set()
        todo = [t for t in targets if t not in stop]
        while todo:
            index = self.producer.get(todo.pop())
            if index is None or index in seen:
                continue
            seen.add(index)
            todo.extend(name for name in self.nodes[index].input if name and name not in stop)
        return seen

    def forward(self, source: str) -> set[int]:
        """Indices of the nodes that depend on tensor ``source``."""
        seen: set[int] = set()
        todo = [source]
        while todo:
            for index in self.consumers.get(todo.pop(), []):
                if index not in seen:
                    seen.add(index)
                    todo.extend(self.nodes[index].output)
        return seen


def _find_tensors(index: _GraphIndex) -> tuple[str, str, int]:
    """Return (durations tensor, decoder latent input, latent channels) of a Piper VITS graph."""
    ceil_outputs = [node.output[0] for node in index.nodes if node.op_type == "Ceil"]
    if len(ceil_outputs) != 1:
        raise VoiceConfigError(
            f"expected exactly one Ceil node (the duration predictor's frame counts), found {len(ceil_outputs)}; "
            "is this a Piper VITS voice exported by piper-train?"
        )
    decoder_entry = [node for node in index.nodes if node.op_type == "Conv" and "dec/conv_pre" in node.name]
    if len(decoder_entry) != 1:
        raise VoiceConfigError(
            "cannot find the HiFi-GAN decoder's first convolution (/dec/conv_pre); is this a Piper VITS voice?"
        )
    weight = index.initializers.get(decoder_entry[0].input[1])
    if weight is None or len(weight.dims) != 3:
        raise VoiceConfigError("the decoder's first convolution has no constant 1-D kernel; unsupported voice graph")
    return ceil_outputs[0], decoder_entry[0].input[0], int(weight.dims[1])


class SplitVits:
    """Runs a Piper VITS ONNX graph as seeded sentence stages plus a chunkable decoder."""

    def __init__(self, model_path: str | Path, threads: int | None = None) -> None:
        try:
            model = onnx.load(str(model_path))
        except Exception as error:  # onnx raises several unrelated types for bad files
            raise VoiceConfigError(f"cannot read ONNX voice model {model_path}: {error}") from error
        self.graph_inputs = [value.name for value in model.graph.input]
        noises = self._replace_random_ops(model)
        index = _GraphIndex(model)
        self._elem_types = index.elem_type
        self.durations_name, self.latent_name, self.latent_channels = _find_tensors(index)
        output_name = model.graph.output[0].name

        # The decoder: everything between the latent and the audio, plus the constants it reads.
        data_dependent = set().union(*(index.forward(name) for name in [*self.graph_inputs, *(n.name for n in noises)]))
        decoder_nodes = {
            node for node in index.backward([output_name], stop={self.latent_name})
            if node in index.forward(self.latent_name) or node not in data_dependent
        }
        decoder_inputs = self._external_inputs(index, decoder_nodes)
        self.conditioning_names = [name for name in decoder_inputs if name != self.latent_name]
        self._decoder = _session(self._submodel(model, index, decoder_nodes, decoder_inputs, [output_name]), threads)

        targets = [self.durations_name, self.latent_name, *self.conditioning_names]
        self._stages = self._build_stages(model, index, noises, targets, threads)
        self.hop_length = self._measure_hop_length()

    # ---- graph surgery -------------------------------------------------------------
    @staticmethod
    def _replace_random_ops(model: onnx.ModelProto) -> list[_Noise]:
        """Turn each RandomNormalLike node into a graph input that we fill from a seeded generator."""
        noises: list[_Noise] = []
        kept = []
        for node in model.graph.node:
            if node.op_type in _UNSUPPORTED_RANDOM_OPS:
                raise VoiceConfigError(f"voice graph uses {node.op_type}, which avatarlab cannot seed")
            if node.op_type not in _NOISE_OPS:
                kept.append(node)
                continue
            dtype_attr = next((a.i for a in node.attribute if a.name == "dtype"), onnx.TensorProto.FLOAT)
            dtype = helper.tensor_dtype_to_np_dtype(dtype_attr)
            noises.append(_Noise(node.output[0], node.input[0], dtype))
            model.graph.input.append(helper.make_tensor_value_info(node.output[0], dtype_attr, None))
        del model.graph.node[:]
        model.graph.node.extend(kept)
        return noises

    @staticmethod
    def _external_inputs(index: _GraphIndex, nodes: set[int]) -> list[str]:
        produced = {name for i in nodes for name in index.nodes[i].output}
        names: list[str] = []
        for i in sorted(nodes):
            for name in index.nodes[i].input:
                if name and name not in produced and name not in index.initializers and name not in names:
                    names.append(name)
        return names

    @staticmethod
    def _submodel(
        model: onnx.ModelProto, index: _GraphIndex, nodes: set[int], inputs: Sequence[str], outputs: Sequence[str]
    ) -> onnx.ModelProto:
        ordered = [index.nodes[i] for i in sorted(nodes)]
        used = {name for node in ordered for name in node.input}
        graph = helper.make_graph(
            ordered,
            "avatarlab_stage",
            [helper.make_tensor_value_info(name, index.elem_type.get(name, onnx.TensorProto.FLOAT), None) for name in inputs],
            [helper.make_tensor_value_info(name, index.elem_type.get(name, onnx.TensorProto.FLOAT), None) for name in outputs],
            [init for name, init in index.initializers.items() if name in used],
        )
        return helper.make_model(graph, opset_imports=model.opset_import, ir_version=model.ir_version)

    def _build_stages(
        self,
        model: onnx.ModelProto,
        index: _GraphIndex,
        noises: list[_Noise],
        targets: list[str],
        threads: int | None,
    ) -> list[_Stage]:
        """Group the pre-decoder nodes into stages that each end where a noise's shape becomes known."""
        needed = index.backward([*targets, *(noise.like for noise in noises)], stop=set())
        available = set(self.graph_inputs) | set(index.initializers)
        pending = list(noises)
        done: set[int] = set()
        stage_nodes: list[set[int]] = []
        stage_noises: list[list[_Noise]] = []
        while len(done) < len(needed):
            nodes: set[int] = set()
            for i in sorted(needed - done):  # nodes are stored in topological order
                node = index.nodes[i]
                if all(not name or name in available for name in node.input):
                    nodes.add(i)
                    available.update(node.output)
            ready = [noise for noise in pending if noise.like in available]
            if not nodes and not ready:
                raise VoiceConfigError("voice graph has nodes that depend on nothing we can compute")
            pending = [noise for noise in pending if noise not in ready]
            available.update(noise.name for noise in ready)
            done |= nodes
            stage_nodes.append(nodes)
            stage_noises.append(ready)

        later_inputs: set[str] = set(targets)
        stages: list[_Stage] = []
        for nodes, ready in reversed(list(zip(stage_nodes, stage_noises))):
            produced = {name for i in nodes for name in index.nodes[i].output}
            outputs = sorted((produced & later_inputs) | {noise.like for noise in ready if noise.like in produced})
            inputs = self._external_inputs(index, nodes)
            later_inputs |= set(inputs)
            submodel = self._submodel(model, index, nodes, inputs, outputs)
            # The flow (the last stage) gives slightly different sums with different thread counts;
            # one thread keeps the audio bit-identical whatever the daemon or CLI thread settings.
            stage_threads = 1 if not stages else threads
            stages.append(_Stage(_session(submodel, stage_threads), inputs, outputs, ready))
        stages.reverse()
        return stages

    def _measure_hop_length(self) -> int:
        frames = 8
        feeds = {self.latent_name: np.zeros((1, self.latent_channels, frames), dtype=np.float32)}
        for name in self.conditioning_names:
            feeds[name] = self._zero_conditioning(name)
        samples = self._decoder.run(None, feeds)[0].size
        if samples % frames:
            raise VoiceConfigError(f"decoder output of {samples} samples for {frames} frames is not a whole hop")
        return samples // frames

    def _zero_conditioning(self, name: str) -> np.ndarray:
        info = next(i for i in self._decoder.get_inputs() if i.name == name)
        shape = [d if isinstance(d, int) else 1 for d in info.shape]
        return np.zeros(shape, dtype=helper.tensor_dtype_to_np_dtype(self._elem_types.get(name, 1)))

    # ---- inference -------------------------------------------------------------------
    def prepare(
        self,
        phoneme_ids: Sequence[int],
        scales: tuple[float, float, float],
        rng: np.random.Generator,
        speaker_id: int | None = None,
    ) -> SentenceLatent:
        """Run everything up to the decoder once for a sentence: durations and latent frames."""
        values: dict[str, np.ndarray] = {
            "input": np.asarray([phoneme_ids], dtype=np.int64),
            "input_lengths": np.asarray([len(phoneme_ids)], dtype=np.int64),
            "scales": np.asarray(scales, dtype=np.float32),
        }
        if "sid" in self.graph_inputs:
            values["sid"] = np.asarray([speaker_id or 0], dtype=np.int64)
        *sentence_stages, flow = self._stages
        for stage in sentence_stages:
            results = stage.session.run(stage.outputs, {name: values[name] for name in stage.inputs})
            values.update(zip(stage.outputs, results))
            for noise in stage.noises_after:
                values[noise.name] = rng.standard_normal(values[noise.like].shape).astype(noise.dtype)
        durations = values[self.durations_name].reshape(-1).astype(np.int64)
        num_frames = int(durations.sum())
        flow_inputs = {name: values[name] for name in flow.inputs}
        sentence = SentenceLatent(
            durations, num_frames, {name: values[name] for name in self.conditioning_names}, flow_inputs,
            np.empty((1, self.latent_channels, num_frames), dtype=np.float32),
        )
        if not all(v.ndim == 0 or v.shape[-1] == num_frames for v in flow_inputs.values()):
            self._run_flow(sentence, 0, num_frames, context=0)  # not frame-wise: one pass
        return sentence

    def _run_flow(self, sentence: SentenceLatent, start: int, end: int, context: int) -> None:
        """Fill latent frames [start, end) by running the flow on them plus ``context`` frames each side."""
        total = sentence.num_frames
        lo, hi = max(0, start - context), min(total, end + context)
        feeds = {
            name: np.ascontiguousarray(v[..., lo:hi]) if v.ndim and v.shape[-1] == total else v
            for name, v in sentence.flow_inputs.items()
        }
        latent = self._stages[-1].session.run([self.latent_name], feeds)[0]
        sentence.latent[..., start:end] = latent[..., start - lo : end - lo]
        sentence.ready_frames = max(sentence.ready_frames, end)

    def _ensure_latent(self, sentence: SentenceLatent, end: int) -> None:
        """Make latent frames [0, end) available: a small first block for early audio, then the rest at once."""
        if sentence.ready_frames >= end:
            return
        ready = sentence.ready_frames
        block_end = max(end, FIRST_FLOW_BLOCK_FRAMES) if ready == 0 else sentence.num_frames
        if sentence.num_frames - block_end < FIRST_FLOW_BLOCK_FRAMES:  # a short line: one pass
            block_end = sentence.num_frames
        self._run_flow(sentence, ready, block_end, FLOW_CONTEXT_FRAMES)

    def decode(self, sentence: SentenceLatent, start: int, end: int, context: int) -> np.ndarray:
        """Waveform for latent frames [start, end), decoded with ``context`` extra frames on each side."""
        lo = max(0, start - context)
        hi = min(sentence.num_frames, end + context)
        self._ensure_latent(sentence, hi)
        feeds = {self.latent_name: np.ascontiguousarray(sentence.latent[:, :, lo:hi]), **sentence.conditioning}
        audio = self._decoder.run(None, feeds)[0].reshape(-1)
        first = (start - lo) * self.hop_length
        return audio[first : first + (end - start) * self.hop_length]
