"""The one training loop for every variant: shuffled mini-batches held on the device, KL warm-up,
gradient clipping, early stopping on the validation loss, and a callback at each new best epoch."""

from __future__ import annotations

import math
import os
import time
from dataclasses import dataclass
from typing import Callable

import torch

from .defaults import DEFAULTS
from .history import EpochRecord, TrainResult
from .model import TabularAutoencoder
from .parallel import torch_threads

# A CPU step this small (batch rows x the network's columns, categories counted by vocabulary) runs on
# one thread. torch's threads meet at a barrier after every operation, which costs about what a second
# core saves at these sizes (2 cores, ms a step on one thread / two: 211 x 109 1.8 / 1.8; 1,024 x 54
# 2.7 / 2.6; 1,024 x 76 3.3 / 3.1; above: 2,048 x 54 4.0 / 3.4, 1,024 x 400 8.3 / 4.7), and while
# another process holds a core the barrier waits for it: two fits of a 211-row Zeek log at once took
# 147 s each on 2 cores, 5.3 s each on one thread (5.3 s alone); two 1M-row fits, which keep both
# threads, 34 s each against 9 s each on one (`--threads 1`).
ONE_THREAD_STEP = 100_000
# Training on several threads that had less than this share of their CPUs, for at least this long, was crowded
# by other processes (`crowded_warning`).
CROWDED_SHARE, CROWDED_MIN_SECONDS = 0.6, 5.0
# Gradient steps a default run aims for; epochs follow from the row count (see `auto_epochs`).
TARGET_STEPS = 3000
# The cap leaves small tables short of TARGET_STEPS (200 updates under 1,024 rows), and that is wanted:
# lifting it cost 0.03 mean ROC-AUC on ADBench half A, as longer fits learn the training rows' anomalies
# (benchmarks/tune.py, steps-uncapped).
MIN_EPOCHS, MAX_EPOCHS = 10, 200
# Default batch: BASE_BATCH, doubled for tables of LARGE_TABLE rows or more, with the epochs of the base
# batch (the same rows seen in half the steps). At 170k-200k rows this fitted 1.5-1.8x faster and scored
# ROC-AUC +0.033 (donors) and -0.021 (skin); a 4x batch lost 0.10 on skin, so the rule stops at 2x.
# Every quality-benchmark table is below LARGE_TABLE, so its figures are those of BASE_BATCH.
BASE_BATCH = 1024
LARGE_TABLE = 100_000
# An interrupted fit resumes from its last checkpoint (`on_best`), written at the first epoch and then at
# most this often: each write is fsynced, 50-100 ms on a busy disk, and a small table's epoch takes
# milliseconds (a 400-row Zeek log spent 12 of its 16 s writing 93 checkpoints). At most ten seconds
# of training are lost to an interrupt.
CHECKPOINT_EVERY_S = 10.0
# The validation loss's noise, the same at every epoch.
VALIDATION_NOISE_SEED = 12345
# On a GPU a step of these small layers is bound by the host, not the GPU: 225 kernel launches took 6.4 ms
# a step on an H200 at any batch from 256 to 32,768 rows, of which 0.5 ms was the GPU's own time. The
# step's kernels captured once as a CUDA graph and replayed took 0.57 ms (GraphedStep). A few eager steps
# come first, as CUDA graphs need (the libraries' lazy setup must not fall inside a capture).
GRAPH_WARMUP_STEPS = 3


@dataclass
class TrainConfig:
    epochs: int | None = None  # None: chosen from the row count
    batch_size: int = BASE_BATCH
    lr: float = DEFAULTS.lr
    beta: float = DEFAULTS.beta
    warmup_fraction: float = 0.2  # share of epochs over which the KL weight ramps from 0 to beta
    patience: int = 15
    grad_clip: float = 5.0
    weight_decay: float = 0.0
    trim: float = DEFAULTS.trim  # share of each batch's worst-fitting rows left out once warm-up is over


def auto_epochs(n_rows: int, batch_size: int) -> int:
    """Enough epochs for about TARGET_STEPS updates: small tables get more passes, big ones fewer."""
    steps_per_epoch = max(1, math.ceil(n_rows / batch_size))
    return int(min(MAX_EPOCHS, max(MIN_EPOCHS, math.ceil(TARGET_STEPS / steps_per_epoch))))


def auto_batch_size(n_rows: int) -> int:
    return BASE_BATCH * 2 if n_rows >= LARGE_TABLE else BASE_BATCH


def _batches(n: int, batch_size: int, perm: torch.Tensor):
    for start in range(0, n, batch_size):
        yield perm[start : start + batch_size]


def _widened(t: torch.Tensor) -> torch.Tensor:
    """A batch of `Preprocessor.network_inputs` as the network takes it: 0/1 flags held in uint8 as float32,
    category codes held in int16 as int64."""
    if t.dtype == torch.uint8:
        return t.float()
    if t.dtype == torch.int16:
        return t.long()
    return t


def _checkpoint(on_best, model: TabularAutoencoder, result: TrainResult, epoch: int, last_save: float) -> float:
    """Hand `epoch` to `on_best` to save, unless a save was made less than CHECKPOINT_EVERY_S ago; the
    time of the latest save."""
    if on_best is None or time.perf_counter() - last_save < CHECKPOINT_EVERY_S:
        return last_save
    result.saved_epoch = epoch
    on_best(model, result)
    return time.perf_counter()


def _copy_state(model: TabularAutoencoder) -> dict[str, torch.Tensor]:
    """The weights, copied: tensor clones, a fifth of copy.deepcopy's time (a small table improves at
    most of its epochs, and ten models calibrate it)."""
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def evaluate_loss(model: TabularAutoencoder, tensors, batch_size: int = 8192) -> float:
    """Mean validation loss at full beta, with the same noise at every epoch so epochs compare fairly.

    The noise has a generator of its own: seeding torch's global one cost 0.1 ms an epoch (it queues a seed
    for every CUDA, XPU and MTIA device with a formatted stack), and on a GPU it re-seeded the training
    noise to the same draws every epoch, since only the CPU's state was put back."""
    model.eval()
    n = tensors[0].shape[0]
    total = 0.0
    noise = torch.Generator(device=tensors[0].device).manual_seed(VALIDATION_NOISE_SEED)
    with torch.no_grad():
        for start in range(0, n, batch_size):
            batch = [t[start : start + batch_size] for t in tensors]
            total += model.training_loss(*batch, beta=1.0, generator=noise).item() * batch[0].shape[0]
    model.train()
    return total / max(1, n)


class FusedAdam:
    """Adam through torch's fused kernel, called as torch.optim.Adam(fused=True) calls it.

    torch.optim's optimisers import torch._dynamo when they are built (1.5 s, a tenth of a million-row
    fit); the kernel itself needs none of it. Same state, same arithmetic, so the same weights.
    """

    def __init__(self, params, lr: float, weight_decay: float, betas=(0.9, 0.999), eps: float = 1e-8):
        self.params = [p for p in params if p.requires_grad]
        self.lr, self.weight_decay, self.betas, self.eps = lr, weight_decay, betas, eps
        self.exp_avgs = [torch.zeros_like(p, memory_format=torch.preserve_format) for p in self.params]
        self.exp_avg_sqs = [torch.zeros_like(p, memory_format=torch.preserve_format) for p in self.params]
        self.steps = [torch.zeros((), dtype=torch.float32, device=p.device) for p in self.params]

    def zero_grad(self, set_to_none: bool = True) -> None:
        for p in self.params:
            p.grad = None

    @torch.no_grad()
    def step(self) -> None:
        live = [i for i, p in enumerate(self.params) if p.grad is not None]  # as torch: no gradient, no step
        if not live:
            return
        params = [self.params[i] for i in live]
        steps = [self.steps[i] for i in live]
        torch._foreach_add_(steps, 1)
        torch._fused_adam_(
            params, [p.grad for p in params], [self.exp_avgs[i] for i in live], [self.exp_avg_sqs[i] for i in live], [],
            steps, amsgrad=False, lr=self.lr,
            beta1=self.betas[0], beta2=self.betas[1], weight_decay=self.weight_decay, eps=self.eps, maximize=False,
            grad_scale=None, found_inf=None,
        )


def clip_grad_norm_(params: list[torch.Tensor], max_norm: float) -> None:
    """torch.nn.utils.clip_grad_norm_ (2-norm) through the foreach kernels: torch takes them only on a GPU,
    and on a CPU loops over the tensors in Python, twice (18 tensors: 290 -> 130 us a step, 2 cores). The
    same norms, the same coefficient, the same products, so the same weights."""
    grads = [p.grad for p in params if p.grad is not None]
    if not grads:
        return
    total = torch.linalg.vector_norm(torch.stack(torch._foreach_norm(grads)))
    torch._foreach_mul_(grads, torch.clamp(max_norm / (total + 1e-6), max=1.0))


def _fused_kernel_runs(device: torch.device) -> bool:
    if not hasattr(torch, "_fused_adam_"):
        return False
    probe = torch.zeros(1, device=device, requires_grad=True)
    probe.grad = torch.ones(1, device=device)
    try:
        FusedAdam([probe], lr=1e-3, weight_decay=0.0).step()
    except (RuntimeError, TypeError, NotImplementedError):
        return False
    return True


def _step(model: TabularAutoencoder, opt, params: list[torch.Tensor], tensors, idx: torch.Tensor, beta, trim: float,
          grad_clip: float, total: torch.Tensor, generator: torch.Generator | None) -> None:
    """One optimiser step on the rows `idx` (gradients already cleared), its loss added to `total` on the
    device: no per-batch sync. The loss, and with it the step's autograd graph, ends with the call: the graph
    holds the nodes that add up the weights' gradients, tied to this stream, and kept to a later CUDA graph
    capture (on another stream) they would break it."""
    # index_select copies whole rows; t[idx] goes through the general indexing kernel (2x slower)
    batch = [_widened(t.index_select(0, idx)) for t in tensors]
    loss = model.training_loss(*batch, beta=beta, trim=trim, generator=generator)
    loss.backward()
    clip_grad_norm_(params, grad_clip)
    opt.step()
    total.add_(loss.detach() * idx.shape[0])


def _graphs_wanted(device: torch.device, opt) -> bool:
    """Whether full batches replay as a CUDA graph: on a CUDA device with the fused Adam, whose step counts
    live on the device (torch's own Adam keeps them on the host), and a torch that lets a graph draw from a
    generator of its own; VAEGUARD_CUDA_GRAPHS=0 steps eagerly."""
    return (device.type == "cuda" and isinstance(opt, FusedAdam) and hasattr(torch.cuda.CUDAGraph, "register_generator_state")
            and os.environ.get("VAEGUARD_CUDA_GRAPHS", "1") != "0")


class GraphedStep:
    """The training step of a full batch (gathering its rows, the loss, backward, clipping, Adam and adding
    the loss to the epoch's total) captured as a CUDA graph and replayed: the same kernels on the same
    tensors, launched as one. The batch's row numbers, the KL weight and the loss total live in tensors of
    their own that the graph reads and writes; a graph is captured for each trim setting (warm-up has none),
    after GRAPH_WARMUP_STEPS eager steps with it.

    Every step of a fit on a GPU draws its noise from a generator of the fit's own (`noise`), graphed or
    not, so a fit with graphs and one without (VAEGUARD_CUDA_GRAPHS=0) draw the same numbers. A capture that
    fails can leave the generators it registered unusable: should one fail, the fit goes on eagerly with a
    fresh generator of its own."""

    def __init__(self, model: TabularAutoencoder, opt: FusedAdam, tensors, batch_size: int, grad_clip: float, total: torch.Tensor):
        self.model, self.opt, self.tensors, self.grad_clip, self.total = model, opt, tensors, grad_clip, total
        device = tensors[0].device
        self.params = list(model.parameters())
        self.idx = torch.zeros(batch_size, dtype=torch.long, device=device)
        self.beta = torch.zeros((), device=device)
        self.noise = torch.Generator(device=device).manual_seed(torch.initial_seed())
        self.side = torch.cuda.Stream(device=device)
        self.graph, self.graph_trim, self.warm = None, None, 0
        self.eager = not _graphs_wanted(device, opt)
        self.replays = 0

    def _step(self, trim: float) -> None:
        _step(self.model, self.opt, self.params, self.tensors, self.idx, self.beta, trim, self.grad_clip, self.total, self.noise)

    def run(self, idx: torch.Tensor, beta: float, trim: float) -> bool:
        """One step on the rows `idx`; False when it was not taken (graphs off, or a capture failed): the
        caller steps eagerly."""
        if self.eager:
            return False
        self.idx.copy_(idx)
        self.beta.fill_(beta)
        if self.graph_trim != trim:  # a new phase: the last one's graph is not replayed again
            self.graph, self.graph_trim, self.warm = None, trim, 0
        if self.graph is None and self.warm >= GRAPH_WARMUP_STEPS:
            self.graph = self._capture(trim)
            if self.graph is None:
                return False
        if self.graph is not None:
            self.graph.replay()
            self.replays += 1
            return True
        # Eager steps before a capture run on the stream the capture will use, as CUDA graphs want.
        self.side.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(self.side):
            self.opt.zero_grad(set_to_none=True)
            self._step(trim)
        torch.cuda.current_stream().wait_stream(self.side)
        self.warm += 1
        return True

    def _capture(self, trim: float):
        """The step captured (not run: the caller replays it), or None if this torch or device cannot."""
        graph = torch.cuda.CUDAGraph()
        graph.register_generator_state(self.noise)
        self.opt.zero_grad(set_to_none=True)  # the gradients are then allocated in the graph's own memory
        # torch.cuda.graph() as a context would also collect garbage (a tenth of a second with torch loaded)
        # and empty the allocator's cache before each capture, to spare memory this small step does not need.
        torch.cuda.synchronize(self.idx.device)
        try:
            with torch.cuda.stream(self.side):
                graph.capture_begin(capture_error_mode="thread_local")
                try:
                    self._step(trim)
                finally:
                    graph.capture_end()
        except RuntimeError:
            self.eager = True
            self.opt.zero_grad(set_to_none=True)
            self.noise = torch.Generator(device=self.idx.device).manual_seed(torch.initial_seed() + 1)
            return None
        return graph


def _adam(model: TabularAutoencoder, config: TrainConfig):
    # The fused kernel updates every parameter in one pass: 15-20% more rows per second on a 2-core CPU
    # for these small layers (benchmarks/speed.py). A build or device without it (where torch.optim's
    # fused=True fails too) gets torch's loop.
    device = next(model.parameters()).device
    if _fused_kernel_runs(device):
        return FusedAdam(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    return torch.optim.Adam(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)


def step_threads(model: TabularAutoencoder, batch_rows: int, device: torch.device) -> int:
    """torch's threads for training `model` in batches of `batch_rows` (see ONE_THREAD_STEP)."""
    width = model.n_num + model.n_flag + sum(model.vocab_sizes)
    if device.type == "cpu" and batch_rows * width < ONE_THREAD_STEP:
        return 1
    return torch.get_num_threads()


def crowded_warning(result: TrainResult) -> str | None:
    """Whether training on several threads had far less CPU than they could use, and what to do about it.

    Each of torch's threads spins at a barrier after every operation and keeps the CPU while it does, so
    alone a fit's CPU time is about its wall time times its threads. Far below that, other processes held
    the cores, and then every step waits for a thread that is not running: two 1M-row fits at once took
    67.9 s each against 7.7 s alone, and 10.3 s each with one thread (benchmarks/results/speed.md). The
    thread count is not changed for the user: it sets a fit's last bits, and a seed gives the same model
    whatever else the machine runs."""
    if result.threads < 2 or result.seconds < CROWDED_MIN_SECONDS:
        return None
    used = result.cpu_seconds / result.seconds
    if used >= CROWDED_SHARE * result.threads:
        return None
    return (f"training took {result.seconds:.0f} s on about {used:.1f} of the {result.threads} CPUs its threads use (other work "
            f"or a CPU quota held the rest), and torch's threads wait for each other at every step: where fits share these "
            f"cores, give each --threads 1 (two fits at once on two cores: 67.9 s each, 10.3 s each with --threads 1)")


def train(
    model: TabularAutoencoder,
    train_tensors: tuple[torch.Tensor, ...],
    val_tensors: tuple[torch.Tensor, ...],
    config: TrainConfig,
    generator: torch.Generator,
    on_epoch: Callable[[EpochRecord, int], None] | None = None,
    on_best: Callable[[TabularAutoencoder, TrainResult], None] | None = None,
    start_epoch: int = 0,
    result: TrainResult | None = None,
) -> TrainResult:
    n = train_tensors[0].shape[0]
    threads = step_threads(model, min(n, config.batch_size), train_tensors[0].device)
    with torch_threads(threads):
        wall, cpu = time.perf_counter(), time.process_time()
        result = _train(model, train_tensors, val_tensors, config, generator, on_epoch, on_best, start_epoch, result)
        if train_tensors[0].device.type == "cpu":
            result.threads, result.seconds, result.cpu_seconds = threads, time.perf_counter() - wall, time.process_time() - cpu
        return result


def _train(model, train_tensors, val_tensors, config: TrainConfig, generator, on_epoch, on_best, start_epoch, result) -> TrainResult:
    n = train_tensors[0].shape[0]
    epochs = config.epochs or auto_epochs(n, config.batch_size)
    warmup = max(1, int(round(config.warmup_fraction * epochs)))
    opt = _adam(model, config)
    params = list(model.parameters())
    result = result or TrainResult()
    # The best epoch's weights, not an average: an exponential moving average of the weights (over a tenth
    # of the steps, chosen by the same validation loss) moved no IoT-23 pair's ROC-AUC over seeds 0-9
    # (44 -> 34: mean 0.952 -> 0.947, range 0.912-0.971 both): the seeds differ by where training ends
    # up, not by the last steps' noise.
    best_state = _copy_state(model)
    since_best = 0
    model.train()
    device = train_tensors[0].device
    last_save = -math.inf
    total = torch.zeros((), device=device)  # the epoch's loss
    graphed = GraphedStep(model, opt, train_tensors, config.batch_size, config.grad_clip, total) if device.type == "cuda" else None
    for epoch in range(start_epoch, epochs):
        beta = config.beta * min(1.0, (epoch + 1) / warmup) if model.variant == "vae" else 0.0
        trim = config.trim if epoch + 1 > warmup else 0.0
        t0 = time.perf_counter()
        perm = torch.randperm(n, generator=generator).to(device)
        total.zero_()
        for idx in _batches(n, config.batch_size, perm):
            if graphed is not None and idx.shape[0] == config.batch_size and graphed.run(idx, beta, trim):
                continue  # the last, shorter batch of an epoch steps eagerly
            opt.zero_grad(set_to_none=True)
            _step(model, opt, params, train_tensors, idx, beta, trim, config.grad_clip, total, graphed.noise if graphed is not None else None)
        train_loss = total.item() / n
        seconds = time.perf_counter() - t0
        val_loss = evaluate_loss(model, val_tensors)
        if not math.isfinite(train_loss):
            # Clamps and clipping make this unreachable in practice; stop rather than save garbage.
            break
        record = EpochRecord(epoch + 1, train_loss, val_loss, beta, seconds)
        result.history.append(record)
        # Only compare once the KL weight is at full strength: earlier losses are not on the same scale.
        comparable = epoch + 1 >= warmup
        improved = not math.isfinite(result.best_val_loss) or val_loss < result.best_val_loss - 1e-4 * abs(result.best_val_loss)
        if comparable and math.isfinite(val_loss) and improved:
            result.best_val_loss, result.best_epoch = val_loss, epoch + 1
            best_state = _copy_state(model)
            since_best = 0
            last_save = _checkpoint(on_best, model, result, epoch + 1, last_save)
        elif comparable:
            since_best += 1
        else:
            # During KL warm-up losses are not comparable yet, but an interrupted fit should still have
            # something to resume from: keep the latest epoch.
            last_save = _checkpoint(on_best, model, result, epoch + 1, last_save)
        if on_epoch is not None:
            on_epoch(record, epochs)
        if since_best >= config.patience:
            result.stopped_early = True
            break
    if result.best_epoch:
        model.load_state_dict(best_state)
    model.eval()
    result.graphed_steps = graphed.replays if graphed is not None else 0
    return result
