// Host-stall probe for the load bench (see stallProbe.ts): a timer every 2 ms for argv[2] seconds;
// prints one JSON line with the gaps between ticks. Nearly no CPU and a few kB of hot memory, so
// when it runs under SCHED_FIFO a long gap is a stall of the whole vCPU (or the guest kernel), not
// of this process: nothing else in the guest can hold it off the CPU.
import process from 'node:process';
import { clearInterval, setInterval, setTimeout } from 'node:timers';

const seconds = Number(process.argv[2] ?? 10);
const gaps = [];
let last = process.hrtime.bigint();
const iv = setInterval(() => {
  const t = process.hrtime.bigint();
  gaps.push(Number(t - last) / 1e6);
  last = t;
}, 2);
setTimeout(() => {
  clearInterval(iv);
  gaps.sort((a, b) => b - a);
  const over = (ms) => gaps.filter((g) => g > ms).length;
  console.log(
    JSON.stringify({
      ticks: gaps.length,
      maxGapMs: Number((gaps[0] ?? 0).toFixed(1)),
      over10Ms: over(10),
      over30Ms: over(30),
      over50Ms: over(50),
      top: gaps.slice(0, 5).map((g) => Number(g.toFixed(1))),
    }),
  );
}, seconds * 1000);
