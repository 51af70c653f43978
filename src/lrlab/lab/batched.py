"""The batched engine: a seed's runs, one per schedule, trained together in one pass.

The runs of one seed that differ only in their schedule (and initial lr) start from the
same weights and see the same batches in the same order. The batched engine stacks
their models into one set of tensors and trains them with one forward and one backward
pass per batch (`torch.func.functional_call` under `torch.func.vmap`), each member with
its own lr from its own schedule at every step. Member for member it is the sequential
trainer, `lrlab.lab.train.builtin`:

- the same initial weights (the model is built once, seeded as the sequential trainer
  seeds it) and the same batches (one shuffle per seed);
- SGD (momentum, weight decay), Adam and AdamW updates, written once for stacked tensors,
  equal to `torch.optim`'s for each member;
- BatchNorm with each member's own batch and running statistics, dropout with each
  member's own masks;
- each member's schedule on a stand-in optimizer of its own (a `lrlab.lab.run.Run`
  handle's scheduler, read at every step), its plateau phase fed its own validation loss;
- a member that diverges stops alone: it leaves the stack and the others go on;
- a member's checkpoint is what the sequential trainer saves (its model's and its
  optimizer's state dicts), so an interrupted batch resumes every member.

The numbers equal the sequential engine's to float rounding (tests/lab/test_batched.py),
not bit for bit, so the engine is part of a run's config and id.

>>> from lrlab.lab.config import TrainConfig
>>> from lrlab.lab.run import Run, execute_together
>>> runs = [Run(TrainConfig(epochs=2, engine="batched", schedule=spec))
...         for spec in ("constant(value={lr})", "cosine(init={lr}, steps={epochs})")]
>>> [ending.status for ending in execute_together(runs, train_together)]
['finished', 'finished']
>>> [round(epoch.lr, 3) for epoch in runs[1].history]
[0.1, 0.05]
"""

from __future__ import annotations

import copy
import math
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.func import functional_call, vmap

from lrlab.lab.batches import batch_indices
from lrlab.lab.config import TrainConfig, batches_per_epoch
from lrlab.lab.data import Dataset
from lrlab.lab.models import BUILT_IN, build_for
from lrlab.lab.recipe import DIVERGE_FACTOR, dataset_for, optimizer_for
from lrlab.lab.run import Run, RunScheduler, stopped

__all__ = ["Stack", "StackedOptimizer", "check_batchable", "folded", "train_together"]

_BETAS, _EPS = (0.9, 0.999), 1e-8  # torch's Adam and AdamW defaults, as `optimizer_for` uses


class Stack:
    """``count`` copies of one model as stacked tensors: member ``i`` is index ``i`` of
    every parameter and buffer.

    ``states``: each member's ``state_dict()`` (None: the model's own tensors). The
    members run under `torch.func.vmap` of `torch.func.functional_call`, any model vmap
    can stack; with ``fold``, a model of Linear, Conv2d and BatchNorm layers (and layers
    that act on each channel alone: activations, pooling, dropout, flattening) runs as
    one wider model instead (`fold`), cheaper per step.

    >>> stack = Stack(nn.Linear(3, 2), [None, None], torch.device("cpu"))
    >>> tuple(stack.logits(torch.zeros(5, 3)).shape)
    (2, 5, 2)
    """

    def __init__(
        self,
        model: nn.Module,
        states: Sequence[Mapping[str, torch.Tensor] | None],
        device: torch.device,
        *,
        fold: bool = False,
    ) -> None:
        self.model = model
        own = model.state_dict(keep_vars=True)
        params = dict(model.named_parameters())
        buffers = dict(model.named_buffers())
        names = {id(t): n for n, t in [*params.items(), *buffers.items()]}
        self.keys = {key: names[id(tensor)] for key, tensor in own.items()}
        """Each state-dict key and the name of its tensor (tied weights share one)."""
        saved = {name: key for key, name in reversed(self.keys.items())}

        def stacked(name: str, tensor: torch.Tensor) -> torch.Tensor:
            key = saved.get(name)
            rows = [
                tensor.detach() if state is None or key is None else state[key] for state in states
            ]
            return torch.stack([row.to(tensor.dtype) for row in rows]).to(device)

        self.params = {n: stacked(n, p).requires_grad_(p.requires_grad) for n, p in params.items()}
        self.buffers = {n: stacked(n, b) for n, b in buffers.items()}
        self._vmapped = vmap(self._call, in_dims=(0, 0, None), randomness="different")
        self._folded = folded(model) if fold else None
        self._install()

    def _install(self) -> None:
        """Put the stacked tensors in the folded model (its parameters are them)."""
        if self._folded is None:
            return
        for name, tensor in self.params.items():
            where, _, attribute = name.rpartition(".")
            parameter = nn.Parameter(tensor.detach(), requires_grad=tensor.requires_grad)
            setattr(self._folded.get_submodule(where), attribute, parameter)
            self.params[name] = parameter
        for name, tensor in self.buffers.items():
            where, _, attribute = name.rpartition(".")
            setattr(self._folded.get_submodule(where), attribute, tensor)

    def _forward(self, x: torch.Tensor) -> torch.Tensor:
        if self._folded is None:
            return self._vmapped(self.params, self.buffers, x)
        members = next(iter(self.params.values())).shape[0]
        out = self._folded(x)
        return out.reshape(x.shape[0], members, -1).transpose(0, 1)  # type: ignore[no-any-return]

    def _call(
        self, params: dict[str, torch.Tensor], buffers: dict[str, torch.Tensor], x: torch.Tensor
    ) -> torch.Tensor:
        return functional_call(self.model, (params, buffers), (x,))  # type: ignore[no-any-return]

    @property
    def trainable(self) -> list[torch.Tensor]:
        """The stacked parameters that train, in the model's parameter order."""
        return [p for p in self.params.values() if p.requires_grad]

    @property
    def positions(self) -> list[int]:
        """Each `trainable` one's index among all the model's parameters."""
        return [i for i, p in enumerate(self.params.values()) if p.requires_grad]

    def logits(self, x: torch.Tensor) -> torch.Tensor:
        """Every member's output for the batch ``x``, in training mode: ``(members, rows, ...)``."""
        return self._forward(x)

    def evaluate(self, x: torch.Tensor, y: torch.Tensor) -> tuple[list[float], list[float]]:
        """Each member's cross-entropy and accuracy on ``(x, y)``, in eval mode."""
        net = self.model if self._folded is None else self._folded
        net.eval()
        try:
            with torch.no_grad():
                logits = self._forward(x)
                losses = _cross_entropy(logits, y)
                accuracy = (logits.argmax(-1) == y).float().mean(1)
        finally:
            net.train()
        return losses.tolist(), accuracy.tolist()

    def member(self, i: int) -> dict[str, torch.Tensor]:
        """Member ``i``'s ``state_dict()`` (copies)."""
        tensors = {**self.params, **self.buffers}
        return {key: tensors[name][i].detach().clone() for key, name in self.keys.items()}

    def keep(self, index: torch.Tensor) -> None:
        """Keep only the members at ``index`` (in that order)."""
        self.params = {
            n: p.detach()[index].requires_grad_(p.requires_grad) for n, p in self.params.items()
        }
        self.buffers = {n: b[index] for n, b in self.buffers.items()}
        self._install()


def folded(model: nn.Module) -> nn.Module | None:
    """``model`` as one model of any number of members, or None where it has a layer
    that cannot fold.

    Activations are folded: ``(rows, members * channels, ...)``, member-major, so that
    layers acting on each channel alone need no change. Each Linear, Conv2d and
    BatchNorm becomes one that holds the members' tensors stacked (``(members, ...)``)
    and computes all members at once: one matrix product for a Linear or a convolution
    on the shared input, a batched product or a grouped convolution on folded input, one
    BatchNorm over every member's channels. The model's own forward is kept, so it may
    reshape only by the batch dimension (``x.view(x.shape[0], ...)``, ``flatten(1)``).
    """
    out = copy.deepcopy(model)
    for name, module in list(out.named_modules()):
        if not any(True for _ in module.parameters(recurse=False)) and not any(
            True for _ in module.buffers(recurse=False)
        ):
            continue
        replacement = _fold_layer(module)
        if replacement is None:
            return None
        where, _, attribute = name.rpartition(".")
        setattr(out.get_submodule(where), attribute, replacement)
    return out


def _fold_layer(module: nn.Module) -> nn.Module | None:
    if type(module) is nn.Linear:
        return _Linear(module)
    if type(module) is nn.Conv2d and module.groups == 1 and module.padding_mode == "zeros":
        return _Conv2d(module)
    if (
        type(module) in (nn.BatchNorm1d, nn.BatchNorm2d)
        and isinstance(module, nn.modules.batchnorm._BatchNorm)
        and module.affine
        and module.track_running_stats
        and module.momentum is not None
    ):
        return _BatchNorm(module)
    return None


class _Linear(nn.Module):
    """A Linear layer's members: input ``(rows, features)`` (shared) or folded."""

    bias: torch.Tensor | None

    def __init__(self, layer: nn.Linear) -> None:
        super().__init__()
        self.in_features = layer.in_features
        self.weight = layer.weight
        self.bias = layer.bias

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        members, width, _ = self.weight.shape
        rows = x.shape[0]
        if members == 1 or x.shape[1] == self.in_features:  # the input every member shares
            weight = self.weight.reshape(members * width, self.in_features).t()
            if self.bias is None:
                return x @ weight
            return torch.addmm(self.bias.reshape(-1), x, weight)
        each = x.reshape(rows, members, self.in_features).transpose(0, 1)
        product = (
            torch.bmm(each, self.weight.transpose(1, 2))
            if self.bias is None
            else torch.baddbmm(self.bias.unsqueeze(1), each, self.weight.transpose(1, 2))
        )
        return product.transpose(0, 1).reshape(rows, members * width)


class _Conv2d(nn.Module):
    """A Conv2d layer's members (a grouped convolution on folded input)."""

    bias: torch.Tensor | None

    def __init__(self, layer: nn.Conv2d) -> None:
        super().__init__()
        self.in_channels = layer.in_channels
        self.stride, self.padding, self.dilation = layer.stride, layer.padding, layer.dilation
        self.weight = layer.weight
        self.bias = layer.bias

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        members = self.weight.shape[0]
        shared = members == 1 or x.shape[1] == self.in_channels
        return nn.functional.conv2d(
            x,
            self.weight.flatten(0, 1),
            None if self.bias is None else self.bias.reshape(-1),
            self.stride,
            self.padding,
            self.dilation,
            1 if shared else members,
        )


class _BatchNorm(nn.Module):
    """A BatchNorm layer's members: one BatchNorm over every member's channels."""

    running_mean: torch.Tensor
    running_var: torch.Tensor
    num_batches_tracked: torch.Tensor

    def __init__(self, layer: nn.modules.batchnorm._BatchNorm) -> None:
        super().__init__()
        self.features = layer.num_features
        self.eps, self.momentum = layer.eps, float(layer.momentum or 0.0)
        self.weight, self.bias = layer.weight, layer.bias
        self.register_buffer("running_mean", layer.running_mean)
        self.register_buffer("running_var", layer.running_var)
        self.register_buffer("num_batches_tracked", layer.num_batches_tracked)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        members = self.weight.shape[0]
        if members > 1 and x.shape[1] == self.features:  # the shared input: one copy each
            x = x.repeat(1, members, *(1,) * (x.ndim - 2))
        if self.training:
            self.num_batches_tracked.add_(1)
        return nn.functional.batch_norm(
            x,
            self.running_mean.reshape(-1),
            self.running_var.reshape(-1),
            self.weight.reshape(-1),
            self.bias.reshape(-1),
            self.training,
            self.momentum,
            self.eps,
        )


class StackedOptimizer:
    """``torch.optim``'s SGD (momentum, weight decay), Adam or AdamW on stacked tensors,
    each member with its own lr at each step.

    ``states``: each member's torch optimizer ``state`` (``state_dict()["state"]``);
    None: fresh. ``positions``: each of ``params``' index among the model's parameters,
    frozen ones included, by which torch numbers that state (default: 0, 1, ...).
    """

    def __init__(
        self,
        config: TrainConfig,
        params: list[torch.Tensor],
        states: Sequence[Mapping[int, Mapping[str, Any]] | None],
        positions: Sequence[int] | None = None,
    ) -> None:
        self.kind = config.optimizer
        self.momentum = config.momentum if self.kind == "sgd" else 0.0
        self.weight_decay = config.weight_decay
        self.params = params
        self.positions = list(range(len(params)) if positions is None else positions)
        self.state: list[dict[str, torch.Tensor]] = [{} for _ in params]
        first = states[0] or {}
        self.steps = int(float(next(iter(first.values()), {}).get("step", 0)))
        """Adam's step count (SGD keeps none)."""
        for j, (p, position) in enumerate(zip(params, self.positions, strict=True)):
            for name in first.get(position, {}):
                if name != "step":
                    rows = [s[position][name] for s in states if s is not None]
                    self.state[j][name] = torch.stack(rows).to(p)

    def step(self, grads: Sequence[torch.Tensor], lrs: Sequence[float]) -> None:
        """One update with the gradients ``grads`` and member ``i``'s lr ``lrs[i]``."""
        self.steps += 1
        with torch.no_grad():
            if self.kind == "sgd":
                self._sgd(grads, lrs)
            else:
                self._adam(grads, lrs)

    def _sgd(self, grads: Sequence[torch.Tensor], lrs: Sequence[float]) -> None:
        lr = _column(lrs, self.params[0])
        for p, g, state in zip(self.params, grads, self.state, strict=True):
            d = g if not self.weight_decay else g.add(p, alpha=self.weight_decay)
            if self.momentum:
                buffer = state.get("momentum_buffer")
                if buffer is None:
                    state["momentum_buffer"] = d = d.clone()
                else:
                    d = buffer.mul_(self.momentum).add_(d)
            p.addcmul_(d, lr.view(-1, *(1,) * (p.ndim - 1)), value=-1)

    def _adam(self, grads: Sequence[torch.Tensor], lrs: Sequence[float]) -> None:
        beta1, beta2 = _BETAS
        correction1 = 1 - beta1**self.steps
        root2 = math.sqrt(1 - beta2**self.steps)
        size = _column([lr / correction1 for lr in lrs], self.params[0])
        decay = _column([1 - lr * self.weight_decay for lr in lrs], self.params[0])
        for p, g, state in zip(self.params, grads, self.state, strict=True):
            shape = (-1, *(1,) * (p.ndim - 1))
            if self.weight_decay and self.kind == "adamw":
                p.mul_(decay.view(shape))
            grad = (
                g.add(p, alpha=self.weight_decay)
                if self.kind == "adam" and self.weight_decay
                else g
            )
            if not state:
                state["exp_avg"], state["exp_avg_sq"] = torch.zeros_like(p), torch.zeros_like(p)
            mean, square = state["exp_avg"], state["exp_avg_sq"]
            mean.lerp_(grad, 1 - beta1)
            square.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
            denominator = (square.sqrt() / root2).add_(_EPS)
            p.addcmul_(mean / denominator, size.view(shape), value=-1)

    def member(self, i: int) -> dict[int, dict[str, Any]]:
        """Member ``i``'s ``state`` as its torch optimizer's ``state_dict()`` holds it."""
        out: dict[int, dict[str, Any]] = {}
        for position, state in zip(self.positions, self.state, strict=True):
            if not state:
                continue
            tensors: dict[str, Any] = {k: v[i].clone() for k, v in state.items()}
            if self.kind != "sgd":
                tensors = {"step": torch.tensor(float(self.steps)), **tensors}
            out[position] = tensors
        return out

    def keep(self, params: list[torch.Tensor], index: torch.Tensor) -> None:
        """The members at ``index`` only, whose stacked parameters are now ``params``."""
        self.params = params
        self.state = [{k: v[index] for k, v in state.items()} for state in self.state]


def _column(values: Sequence[float], like: torch.Tensor) -> torch.Tensor:
    return torch.tensor(values, dtype=like.dtype, device=like.device)


def _cross_entropy(logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Each member's mean cross-entropy: ``logits`` ``(members, rows, classes)``."""
    return nn.functional.cross_entropy(
        logits.transpose(1, 2), y.expand(logits.shape[0], -1), reduction="none"
    ).mean(1)


@dataclass(eq=False)
class _Member:
    """One run in the pass: its handle, its stand-in optimizer and scheduler."""

    run: Run
    optimizer: torch.optim.Optimizer
    scheduler: RunScheduler
    epochs: Iterator[int]
    limit: float | None = None
    losses: list[float] = field(default_factory=list)


def train_together(runs: Sequence[Run], *, data: Dataset | None = None) -> None:
    """The built-in trainer for ``runs`` in one pass, for
    `lrlab.lab.run.execute_together`: their configs differ in `lrlab.lab.config.SHARED`
    only, and every one resumes after the same epoch. ``data``: the dataset, if loaded.
    """
    config = runs[0].config
    together = _Pass(runs, dataset_for(config) if data is None else data)
    live = [m for m in together.members if next(m.epochs, None) is not None]
    if not live:  # resumed after the last epoch: the test accuracy is all that is left
        together.finish(together.members)
    while live:
        live, ended = together.epoch(live)
        if ended:
            together.finish(live)
            return


class _Pass:
    """The members' stack, its optimizer and their shared batches."""

    def __init__(self, runs: Sequence[Run], data: Dataset) -> None:
        config = runs[0].config
        self.config, self.data = config, data
        self.device = torch.device(config.device)
        torch.manual_seed(config.seed)
        model = build_for(config.model, data)
        self.batches = batches_per_epoch(len(data.y_train), config.batch_size)
        self.members = []
        for run in runs:
            proxy = optimizer_for(run.config, model)  # holds the member's lr; the stack trains
            scheduler = run.scheduler(proxy, steps_per_epoch=self.batches)
            self.members.append(_Member(run, proxy, scheduler, iter(())))
        self.shuffle = torch.Generator().manual_seed(config.seed)
        saved = [run.restore() for run in runs]
        if saved[0] is not None:
            self.shuffle.set_state(saved[0]["shuffle"])
        states: list[Mapping[int, Mapping[str, Any]] | None] = []
        for member, state in zip(self.members, saved, strict=True):
            states.append(None if state is None else _load_optimizer(member.optimizer, state))
            member.limit = None if state is None else state["limit"]
            member.epochs = member.run.epochs()
        model.train()
        self.stack = Stack(
            model,
            [None if s is None else s["model"] for s in saved],
            self.device,
            fold=config.model in BUILT_IN,
        )
        self.optimizer = StackedOptimizer(
            config, self.stack.trainable, states, self.stack.positions
        )
        self.train, self.val = self.tensors("train"), self.tensors("val")

    def tensors(self, part: str) -> tuple[torch.Tensor, torch.Tensor]:
        """The data's ``part`` (train, val or test) on the device."""
        x, y = getattr(self.data, f"x_{part}"), getattr(self.data, f"y_{part}")
        return torch.from_numpy(x).to(self.device), torch.from_numpy(y).to(self.device)

    def epoch(self, live: list[_Member]) -> tuple[list[_Member], bool]:
        """Train one epoch of the ``live`` members and report it: the members still
        training, and whether this was the last epoch."""
        epoch = live[0].run.epoch
        assert epoch is not None
        started = time.perf_counter()
        x, y = self.train
        for member in live:
            member.losses.clear()
        for b, rows in enumerate(batch_indices(len(y), self.config.batch_size, self.shuffle)):
            index = rows.to(self.device)
            losses = _cross_entropy(self.stack.logits(x[index]), y[index])
            values = losses.tolist()
            step = epoch * self.batches + b
            out = [m for m, v in zip(live, values, strict=True) if _diverges(m, v, step)]
            grads = torch.autograd.grad(losses.sum(), self.stack.trainable)
            self.optimizer.step(grads, [float(m.optimizer.param_groups[0]["lr"]) for m in live])
            for m, value in zip(live, values, strict=True):
                if m in out:  # stopped before its step, as in the sequential trainer
                    continue
                m.losses.append(value)
                if b == 0 and epoch == m.run.covered:  # the pass's first step: through torch,
                    m.optimizer.step()  # which notes that the optimizer stepped
                else:
                    m.run.stepped()  # its run samples the lr this step used
                m.scheduler.step()
            live = self.without(out, live)
            if not live:
                return live, True
        val_losses, val_accuracies = self.stack.evaluate(*self.val)
        checkpoint, _ = live[0].run.cadence.due(epoch, time.perf_counter() - started)
        out = []
        for i, member in enumerate(live):
            member.run.share = len(live)
            state = self.state(i, member) if checkpoint else None
            report = _reporter(member, val_losses[i], val_accuracies[i], state)
            if stopped(report) or next(member.epochs, None) is None:
                out.append(member)
        if len(out) == len(live):  # the last epoch (or every member stopped)
            return live, True
        return self.without(out, live), False

    def state(self, i: int, member: _Member) -> dict[str, Any]:
        """Member ``i``'s state, as the sequential trainer saves it."""
        return {
            "model": self.stack.member(i),
            "optimizer": {**member.optimizer.state_dict(), "state": self.optimizer.member(i)},
            "shuffle": self.shuffle.get_state(),
            "limit": member.limit,
        }

    def finish(self, live: list[_Member]) -> None:
        """The test accuracy of each member that finished."""
        if not live:
            return
        _, accuracies = self.stack.evaluate(*self.tensors("test"))
        for member, accuracy in zip(live, accuracies, strict=True):
            if member.run.status == "running" and member.run.store_error is None:
                member.run.record_final(test_accuracy=accuracy)

    def without(self, out: Sequence[_Member], live: list[_Member]) -> list[_Member]:
        """The members still training once those in ``out`` leave the stack."""
        if not out:
            return live
        keep = [i for i, m in enumerate(live) if m not in out]
        if keep:
            index = torch.tensor(keep, device=self.device)
            self.stack.keep(index)
            self.optimizer.keep(self.stack.trainable, index)
        return [live[i] for i in keep]


def _reporter(
    member: _Member, val_loss: float, val_accuracy: float, state: Any
) -> Callable[[], None]:
    def report() -> None:
        member.run.report(
            train_loss=float(np.mean(member.losses)),
            val_loss=val_loss,
            val_accuracy=val_accuracy,
            state=state,
        )

    return report


def _diverges(member: _Member, value: float, step: int) -> bool:
    """Whether the member's batch loss ``value`` ends its run (as the sequential trainer
    says: not finite, or above `DIVERGE_FACTOR` times the first batch's)."""
    if member.limit is None:
        member.limit = DIVERGE_FACTOR * max(value, 1.0)
    if math.isfinite(value) and value <= member.limit:
        return False
    return stopped(lambda: member.run.diverge(step))


def _load_optimizer(proxy: torch.optim.Optimizer, state: Mapping[str, Any]) -> dict[int, Any]:
    """A member's saved optimizer state, loaded as torch loads it (its lr and settings go
    to the stand-in); its per-parameter tensors, by parameter index, for the stack."""
    proxy.load_state_dict(state["optimizer"])
    params = [p for group in proxy.param_groups for p in group["params"]]
    out = {j: dict(proxy.state[p]) for j, p in enumerate(params) if p in proxy.state}
    proxy.state.clear()
    return out


def check_batchable(config: TrainConfig, data: Dataset) -> None:
    """Raise ValueError, naming the layer, unless ``config``'s model trains stacked.

    Runs one stacked training step of two members on a small batch.

    >>> from lrlab.lab.data import load
    >>> check_batchable(TrainConfig(engine="batched"), load("synthetic", seed=0))
    """
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(config.seed)
        model = build_for(config.model, data)
        where: list[str] = []  # the layers entered and not left: the last one failed

        def leave(*_: Any) -> None:
            where.pop()

        handles = []
        for name, module in model.named_modules():
            if name:
                handles.append(
                    module.register_forward_pre_hook(lambda *_, name=name: where.append(name))
                )
                handles.append(module.register_forward_hook(leave))
        size = min(config.batch_size, len(data.y_train), 8)
        x = torch.from_numpy(data.x_train[:size])
        y = torch.from_numpy(data.y_train[:size])
        try:
            stack = Stack(model, [None, None], torch.device("cpu"))
            loss = _cross_entropy(stack.logits(x), y).sum()
            torch.autograd.grad(loss, stack.trainable)
        except Exception as error:
            layer = f" in layer {where[-1]!r} ({type(model.get_submodule(where[-1])).__name__})"
            text = str(error).strip().splitlines()
            raise ValueError(
                f"model {config.model!r}: engine 'batched' cannot stack it"
                f"{layer if where else ''}: {type(error).__name__}: "
                f"{text[0] if text else ''}; use engine 'sequential' (--engine sequential)"
            ) from None
        finally:
            for handle in handles:
                handle.remove()
