"""Environment steps behind 20 online episodes (2 epochs of 10, as the quick suite), per
agent, in worlds given as the first argument (e.g. `0,1`); prints one JSON line per agent."""

import json
import sys

import gymnasium as gym

from agents import make
from recsim_envs.data import collect_sessions
from recsim_envs.evaluation.learning import run_sessions
from recsim_envs.sequential.behaviour import sequential_behaviour_policy

ENV = "recsim_envs/SequentialRec-v0"
QUICK_IALP = {"n_imagined_sessions": 40, "rm_updates": 150, "ac_updates": 300}
for ws in [int(w) for w in sys.argv[1].split(",")]:
    kw = dict(n_users=300, n_items=200, world_seed=ws)
    env = gym.make(ENV, **kw, with_text=False)
    data = collect_sessions(env, sequential_behaviour_policy(env, 0.5, seed=ws), 250, seed=ws)
    agents = [("linear_q", {}), ("safe_bandit", {}), ("maskable_ppo", {}), ("ppo", {}),
              ("dqn", {}), ("a_ialp_ft", QUICK_IALP)]
    for name, st in agents:
        ag = make(name, seed=ws, **st)
        if name.startswith("a_ialp"):
            ag.fit(data, llm=env.unwrapped.make_llm_user(0.5))
        else:
            ag.fit(data)
        cur = run_sessions(ag, ENV, kw, n_epochs=2, episodes_per_epoch=10, seed=ws, n_eval=50,
                           eval_seed=ws + 1)
        steps = float((cur.train_length * 10).sum())
        print(json.dumps({"world": ws, "agent": name, "train_steps_20_episodes": steps,
                          "train_length": [round(x, 1) for x in cur.train_length]}), flush=True)
