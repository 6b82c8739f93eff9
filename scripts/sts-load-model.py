#!/usr/bin/env python3
"""STS load of rolebridge on a cluster (issue 19, item 5): AssumeRole calls per second for N nodes
x M JVMs per node x R settings sets, stated (closed forms) and simulated (an event simulation of
every JVM's cache entry and each node's cache directory, by the rules of src/cache.rs,
src/shared_cache.rs and src/sts.rs), with and without the node cache (rolebridge.cache.dir) and
the remembered refusal (rolebridge.refusal.ttl). Python 3 standard library only.

    python3 scripts/sts-load-model.py                 # the table of BENCHMARKS.md
    python3 scripts/sts-load-model.py --nodes 200 --jvms 16 --sets 4 --quota 600
    python3 scripts/sts-load-model.py --check         # the counts of the tests' real runs, predicted

Scenarios:
- start: every JVM starts within the start window (uniformly) and fetches each settings set's
  session at once;
- steady: each session is fetched again refresh-ahead before it expires (a new session every
  duration - refresh-ahead); the JVMs of a node hold sessions of the same expiry, so with the node
  cache the first to refresh writes the file and the others read it;
- refresh: the refresh wave, once a session lifetime after the start: the sessions were fetched
  within the start window, so their refreshes come within a window as long (rolebridge does not
  spread refreshes), at the start's rate;
- broken trust: the trust policy refuses every call and the JVMs' tasks keep asking (Spark retries
  them), worst case: each JVM asks as soon as its backoff lets it. Without the remembered refusal
  the backoff is 1 s doubling to 30 s, jittered to [d/2, d] (mean 22.5 s once at 30 s); with it,
  the TTL shortened by up to a tenth (mean 0.95 TTL), and with the node cache one JVM per node
  asks per TTL. Each refused AssumeRole is followed by one GetCallerIdentity (the message names
  the refused principal), so STS sees two requests per refused call.

Every STS request counts against the calling account's request rate in the region (a token
bucket). AWS does not publish the figure in the documentation this project could consult; --quota
(default 600 per second, a figure users report, e.g. awslabs/mountpoint-s3#1358) sets it.
"""

import argparse
import heapq
import random

# src/cache.rs and src/settings/values.rs
BACKOFF_MIN, BACKOFF_MAX = 1.0, 30.0          # transient failures (and refusals with ttl=0)
MIN_REMAINING = 60.0                           # never handed out within a minute of expiry
REFUSAL_SHORTENED_BY = 0.1                     # a refusal's TTL, less up to a tenth


def old_backoff_mean():
    """Mean of the jittered [d/2, d] backoff once doubled to BACKOFF_MAX."""
    return 0.75 * BACKOFF_MAX


def stated(n, m, r, duration, ahead, window, ttl):
    """Closed forms, AssumeRole calls per second: {scenario: (without cache, with cache)} and the
    broken-trust rows for each combination."""
    jvms = n * m
    period = duration - ahead
    rows = {
        "start (all JVMs within the window)": (jvms * r / window, n * r / window),
        "steady state": (jvms * r / period, n * r / period),
        "refresh wave (once per session lifetime)": (jvms * r / window, n * r / window),
    }
    remembered = 1.0 - REFUSAL_SHORTENED_BY / 2
    broken = {
        "no cache, refusal not remembered (before issue 19; refusal.ttl=0)": jvms * r / old_backoff_mean(),
        "node cache, refusal not remembered (refusal.ttl=0)": jvms * r / old_backoff_mean(),
        "no cache, refusal remembered": jvms * r / (remembered * ttl) if ttl else None,
        "node cache, refusal remembered (default)": n * r / (remembered * ttl) if ttl else None,
    }
    return rows, broken


class Node:
    """A node's cache directory: per settings set, the shared session's expiry and the refusal
    record's end."""

    def __init__(self, r):
        self.session = [None] * r
        self.refusal = [None] * r


def simulate(n, m, r, duration, ahead, window, ttl, horizon, cache, remember, broken, seed=19):
    """Event simulation; returns the times of AssumeRole calls. A JVM asks for each settings set
    when it starts; then, with a session, at expiry - refresh-ahead; refused, when its backoff
    ends (its tasks keep asking). Calls take no time (the lock serialises a node's JVMs: the first
    writes, the others read what it wrote)."""
    rnd = random.Random(seed)
    calls = []
    nodes = [Node(r) for _ in range(n)]
    events = []
    for node in range(n):
        for jvm in range(m):
            start = rnd.uniform(0, window)
            for s in range(r):
                heapq.heappush(events, (start, node, jvm, s, 0))
    while events:
        t, node, jvm, s, failures = heapq.heappop(events)
        if t > horizon:
            break
        shared = nodes[node]
        # the node's session, if one is valid for long enough (written by another JVM)
        if cache and not broken and shared.session[s] is not None and shared.session[s] - ahead > t + 1e-9:
            heapq.heappush(events, (shared.session[s] - ahead, node, jvm, s, 0))
            continue
        if cache and remember and broken and shared.refusal[s] is not None and shared.refusal[s] > t:
            heapq.heappush(events, (shared.refusal[s], node, jvm, s, failures))
            continue
        calls.append(t)
        if not broken:
            expiry = t + duration
            if cache:
                shared.session[s] = expiry
            heapq.heappush(events, (expiry - ahead, node, jvm, s, 0))
            continue
        failures += 1
        if remember and ttl:
            wait = ttl * (1 - REFUSAL_SHORTENED_BY * rnd.random())
            if cache:
                shared.refusal[s] = t + wait
        else:
            d = min(BACKOFF_MIN * 2 ** min(failures - 1, 16), BACKOFF_MAX)
            wait = rnd.uniform(d / 2, d)
        heapq.heappush(events, (t + wait, node, jvm, s, failures))
    return calls


def rate(calls, since, until):
    return sum(1 for c in calls if since <= c < until) / (until - since)


def peak(calls, width=1.0):
    """The most calls in any window of `width` seconds starting at a call."""
    calls = sorted(calls)
    best, j = 0, 0
    for i, c in enumerate(calls):
        while calls[j] < c - width:
            j += 1
        best = max(best, i - j + 1)
    return best / width


def fmt(x):
    if x is None:
        return "-"
    if x >= 100:
        return f"{x:,.0f}"
    if x >= 1:
        return f"{x:.1f}"
    return f"{x:.3f}"


def table(a):
    n, m, r = a.nodes, a.jvms, a.sets
    rows, broken = stated(n, m, r, a.duration, a.ahead, a.window, a.ttl)
    print(f"{n} nodes x {m} JVMs x {r} settings sets; session {a.duration:.0f} s, refresh ahead "
          f"{a.ahead:.0f} s, start window {a.window:.0f} s, rolebridge.refusal.ttl {a.ttl:.0f} s; "
          f"STS quota {a.quota:.0f} requests/s (see --help)")
    print()
    print("| scenario | stated: no node cache | stated: node cache | simulated: no node cache | simulated: node cache |")
    print("|---|---|---|---|---|")
    sims = {}
    for cache in (False, True):
        calls = simulate(n, m, r, a.duration, a.ahead, a.window, a.ttl, a.duration * 2.5, cache, True, False)
        period = a.duration - a.ahead
        sims[cache] = (
            rate(calls, 0, a.window),
            rate(calls, a.window + 10, period - 10) if period - 10 > a.window + 10 else 0.0,
            rate(calls, period, period + a.window),
            # steady state over whole refresh periods after the start
            rate(calls, period, 2 * period),
        )
    labels = list(rows)
    sim_index = {labels[0]: 0, labels[1]: 3, labels[2]: 2}
    for label, (without, with_cache) in rows.items():
        i = sim_index[label]
        print(f"| {label} | {fmt(without)} | {fmt(with_cache)} | {fmt(sims[False][i])} | {fmt(sims[True][i])} |")
    print()
    print("Broken trust policy (every call refused, tasks keep asking): AssumeRole calls/s once "
          "backoffs have settled (STS requests: twice that, with the GetCallerIdentity after each refusal)")
    print()
    print("| settings | stated | simulated | STS requests/s |")
    print("|---|---|---|---|")
    combos = {
        "no cache, refusal not remembered (before issue 19; refusal.ttl=0)": (False, False),
        "node cache, refusal not remembered (refusal.ttl=0)": (True, False),
        "no cache, refusal remembered": (False, True),
        "node cache, refusal remembered (default)": (True, True),
    }
    for label, value in broken.items():
        cache, remember = combos[label]
        # settled: the second half of many TTLs (remembered) or of 20 minutes (30 s backoffs)
        horizon = 20 * a.ttl if remember and a.ttl else 1200.0
        calls = simulate(n, m, r, a.duration, a.ahead, a.window, a.ttl, horizon, cache, remember, True)
        settled = rate(calls, horizon / 2, horizon)
        print(f"| {label} | {fmt(value)} | {fmt(settled)} | {fmt(2 * value if value else None)} |")
    print()
    q = a.quota
    print(f"Where the account's STS rate ({q:.0f}/s) becomes the limit, at {r} settings set(s):")
    print(f"- start and refresh waves, node cache: {q * a.window / r:,.0f} nodes (whatever the JVMs per node); "
          f"without it: {q * a.window / r:,.0f} JVMs in all ({q * a.window / r / m:,.0f} nodes of {m} JVMs)")
    print(f"- the same waves with temporary source keys (an EMR instance profile) and the node cache: the JVM that "
          f"writes a node's session first asks GetCallerIdentity once (once per source key per process), so a node's "
          f"start wave is up to R + min(R, M) requests: {q * a.window / (r + min(r, m)):,.0f} nodes")
    print(f"- steady state, node cache: {q * (a.duration - a.ahead) / r:,.0f} nodes; without it: "
          f"{q * (a.duration - a.ahead) / r:,.0f} JVMs")
    print(f"- broken trust policy, remembered on the node: {q * 0.95 * a.ttl / (2 * r):,.0f} nodes; not remembered: "
          f"{q * old_backoff_mean() / (2 * r):,.0f} JVMs in all ({q * old_backoff_mean() / (2 * r) / m:,.0f} nodes of {m} JVMs)")


def check():
    """The tests' real runs, predicted by the model's rules: processes started together on one
    node, one settings set, each asking once (a credential-process run, a JVM's first call),
    counted within one TTL."""

    def once(procs, cache, remember, broken):
        if cache and (remember or not broken):
            return 1  # the first takes the lock and calls; the others read its session or record
        return procs

    print("| run (tests) | predicted AssumeRole calls |")
    print("|---|---|")
    print(f"| 50 credential-process runs at once, one cache dir | {once(50, True, True, False)} |")
    print(f"| 50 refused runs at once, one cache dir | {once(50, True, True, True)} |")
    print(f"| 50 more refused runs within the TTL | 0 |")
    print(f"| 50 refused runs, rolebridge.refusal.ttl=0, one cache dir | {once(50, True, False, True)} |")
    print(f"| 50 refused runs, a cache dir each | {once(50, False, True, True)} |")
    print(f"| 8 JVMs at once, one cache dir | {once(8, True, True, False)} |")
    print(f"| 8 JVMs at once, no cache dir | {once(8, False, True, False)} |")
    print(f"| 8 refused JVMs at once, one cache dir | {once(8, True, True, True)} |")
    print(f"| 8 more refused JVMs within the TTL | 0 |")
    print(f"| 8 refused JVMs, no cache dir | {once(8, False, True, True)} |")
    print("| 20 throttled runs at once, one cache dir | 1 call (3 requests: the SDK's attempts) |")
    print("| 10 throttled runs after that backoff | 1 call (3 requests); the backoff doubles |")


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--nodes", type=int, default=100)
    p.add_argument("--jvms", type=int, default=10, help="JVMs (executors) per node")
    p.add_argument("--sets", type=int, default=1, help="settings sets (sessions) each JVM uses")
    p.add_argument("--duration", type=float, default=3600, help="rolebridge.session.duration, s")
    p.add_argument("--ahead", type=float, default=300, help="rolebridge.refresh.ahead, s")
    p.add_argument("--window", type=float, default=60, help="start window: every JVM starts within it, s")
    p.add_argument("--ttl", type=float, default=300, help="rolebridge.refusal.ttl, s")
    p.add_argument("--quota", type=float, default=600, help="the account's STS requests per second")
    p.add_argument("--check", action="store_true", help="predict the counts of the tests' real runs")
    a = p.parse_args()
    if a.check:
        check()
    else:
        table(a)


if __name__ == "__main__":
    main()
