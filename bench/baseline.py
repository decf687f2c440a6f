"""The benchmark's baseline: what py-stability-iot's loop does, written for
bench/run (not the seed's code). It reads config.ini from the working
directory with ConfigParser, then checks the indicator with os.path.exists
and sleeps checking_interval seconds, forever. BENCH_POLLS=N in the
environment stops it after N polls (for the CPU-time figure, at interval 0)."""
import configparser
import os
import time

config = configparser.ConfigParser()
config.read("config.ini")
interval = float(config["general"]["checking_interval"])
indicator = config["general"]["indicator_file_path"]
polls = int(os.environ.get("BENCH_POLLS", "0"))
done = 0
while True:
    if os.path.exists(indicator):
        raise SystemExit("baseline: the indicator exists; a benchmark never creates it")
    done += 1
    if done == polls:
        break
    time.sleep(interval)
