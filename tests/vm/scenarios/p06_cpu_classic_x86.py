import _peers as p

SCENARIO = p.worst_scenario("p06_cpu_classic_x86", "cpu", "classic")
