"""Hypothesis strategies that build valid lrlab schedules of every family."""

from __future__ import annotations

from hypothesis import strategies as st

import lrlab

lrs = st.floats(min_value=0.0, max_value=10.0, allow_nan=False, allow_infinity=False)
positive_lrs = st.floats(min_value=1e-8, max_value=10.0)
durations = st.integers(min_value=1, max_value=5000)
gammas = st.floats(min_value=1e-3, max_value=1.0)


@st.composite
def sorted_ints(draw: st.DrawFn, *, min_size: int, start: int, unique: bool) -> tuple[int, ...]:
    values = draw(
        st.lists(
            st.integers(min_value=start, max_value=10_000),
            min_size=min_size,
            max_size=6,
            unique=unique,
        )
    )
    return tuple(sorted(values))


@st.composite
def piecewise_constants(draw: st.DrawFn) -> lrlab.Schedule:
    bounds = draw(sorted_ints(min_size=0, start=1, unique=True))
    values = draw(st.lists(lrs, min_size=len(bounds) + 1, max_size=len(bounds) + 1))
    return lrlab.piecewise_constant(boundaries=bounds, lrs=values)


@st.composite
def piecewise_linears(draw: st.DrawFn) -> lrlab.Schedule:
    bounds = (0, *draw(sorted_ints(min_size=0, start=1, unique=True)))
    values = draw(st.lists(lrs, min_size=len(bounds), max_size=len(bounds)))
    return lrlab.piecewise_linear(boundaries=bounds, lrs=values)


@st.composite
def wsds(draw: st.DrawFn) -> lrlab.Schedule:
    steps = draw(st.integers(min_value=2, max_value=5000))
    decay = draw(st.integers(min_value=1, max_value=steps))
    warm = draw(st.integers(min_value=0, max_value=steps - decay))
    return lrlab.wsd(
        peak=draw(lrs),
        steps=steps,
        decay_steps=decay,
        warmup_steps=warm,
        init=draw(lrs),
        end=draw(lrs),
        shape=draw(st.sampled_from(["linear", "cosine", "1-sqrt"])),
    )


@st.composite
def one_cycles(draw: st.DrawFn) -> lrlab.Schedule:
    steps = draw(st.integers(min_value=20, max_value=5000))
    three = draw(st.booleans())
    frac = draw(st.floats(min_value=0.1, max_value=0.45 if three else 0.9))
    return lrlab.one_cycle(
        peak=draw(lrs),
        steps=steps,
        init=draw(lrs),
        end=draw(lrs),
        warmup_frac=frac,
        shape=draw(st.sampled_from(["cos", "linear"])),
        three_phase=three,
    )


@st.composite
def annealings(draw: st.DrawFn) -> lrlab.Schedule:
    shape = draw(st.sampled_from(["cosine", "tanh", "polynomial"]))
    return lrlab.annealing(
        init=draw(lrs),
        period=draw(durations),
        end=draw(lrs),
        shape=shape,
        power=draw(st.floats(min_value=0.1, max_value=5.0)) if shape == "polynomial" else 1.0,
        k=1.0 if shape == "tanh" else draw(st.sampled_from([1.0, 0.5, 2.0, 16.0])),
        mult=draw(st.sampled_from([1.0, 1.5, 2.0, 100.0])),
        gamma=draw(gammas),
        cycles=draw(st.none() | st.integers(min_value=1, max_value=50)),
        offset=draw(st.integers(min_value=0, max_value=10_000)),
    )


def leaves() -> st.SearchStrategy[lrlab.Schedule]:
    """A schedule of any pure (not metric-driven) leaf family, with valid parameters."""
    return st.one_of(
        st.builds(lrlab.constant, value=lrs),
        st.builds(lrlab.step, init=lrs, period=durations, gamma=gammas),
        st.builds(
            lrlab.multistep,
            init=lrs,
            milestones=sorted_ints(min_size=1, start=0, unique=False),
            gamma=gammas,
        ),
        st.builds(lrlab.exponential, init=lrs, gamma=gammas),
        st.builds(
            lrlab.inverse_time,
            init=lrs,
            period=durations,
            rate=st.floats(min_value=0.0, max_value=100.0),
            staircase=st.booleans(),
        ),
        annealings(),
        st.builds(lrlab.linear, init=lrs, end=lrs, steps=durations),
        st.builds(
            lrlab.polynomial,
            init=lrs,
            steps=durations,
            end=lrs,
            power=st.floats(min_value=0.1, max_value=5.0),
            cycle=st.booleans(),
        ),
        st.builds(lrlab.cosine, init=lrs, steps=durations, end=lrs, periodic=st.booleans()),
        st.builds(
            lrlab.cosine_restarts,
            init=lrs,
            period=durations,
            mult=st.integers(min_value=1, max_value=4),
            end=lrs,
            decay=st.floats(min_value=0.1, max_value=1.0),
        ),
        st.builds(
            lrlab.cyclic,
            init=lrs,
            peak=lrs,
            up_steps=durations,
            down_steps=st.none() | durations,
            mode=st.sampled_from(["triangular", "triangular2", "exp_range"]),
            gamma=st.floats(min_value=0.9, max_value=1.0),
        ),
        one_cycles(),
        st.builds(
            lrlab.inverse_sqrt,
            peak=lrs,
            warmup_steps=st.integers(min_value=1, max_value=5000),
            init=lrs,
        ),
        wsds(),
        piecewise_constants(),
        piecewise_linears(),
    )


def schedules(max_leaves: int = 6) -> st.SearchStrategy[lrlab.Schedule]:
    """Any pure schedule: leaves and composites nested a few levels deep."""

    def extend(inner: st.SearchStrategy[lrlab.Schedule]) -> st.SearchStrategy[lrlab.Schedule]:
        return st.one_of(
            st.builds(
                lrlab.warmup,
                inner,
                steps=durations,
                start_factor=st.floats(min_value=0.01, max_value=1.0),
                shape=st.sampled_from(["linear", "cosine", "exponential"]),
                mode=st.sampled_from(["prefix", "overlay"]),
            ),
            st.lists(inner, min_size=2, max_size=3).flatmap(
                lambda parts: st.builds(
                    lrlab.join,
                    st.just(parts),
                    at=st.lists(
                        st.integers(min_value=1, max_value=10_000),
                        min_size=len(parts) - 1,
                        max_size=len(parts) - 1,
                        unique=True,
                    ).map(sorted),
                )
            ),
            st.builds(lrlab.product, st.lists(inner, min_size=2, max_size=3)),
            st.builds(lrlab.scale, inner, factor=st.floats(min_value=0.0, max_value=10.0)),
            st.builds(lrlab.clip, inner, low=st.just(0.001), high=st.just(1.0)),
        )

    return st.recursive(leaves(), extend, max_leaves=max_leaves)


steps_arrays = st.lists(
    st.floats(min_value=0.0, max_value=1e7, allow_nan=False), min_size=1, max_size=50
)
