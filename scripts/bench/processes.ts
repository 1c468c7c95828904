import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';

// What the benchmarks read about and do to their processes on Linux: CPU pinning with taskset (the
// server under test on one core, the load generator on the other, so neither steals the other's
// time) and CPU time and RSS from /proc. Off Linux, or without taskset, pinning is skipped and says so.

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** Whether `taskset` (util-linux) can be run here and there are two CPUs to pin to. */
export function canPin(): boolean {
  return availableParallelism() >= 2 && spawnSync('taskset', ['--version'], { stdio: 'ignore' }).status === 0;
}

/** Pins every thread of `pid` (threads it starts later inherit it) to `cpus`, e.g. '0' or '0-1'. */
export function pinProcess(pid: number, cpus: string): void {
  const result = spawnSync('taskset', ['-a', '-cp', cpus, String(pid)], { encoding: 'utf8' });
  if (result.status !== 0) {
    throw new Error(`taskset -a -cp ${cpus} ${pid} failed: ${result.stderr || result.error?.message}`);
  }
}

/** The CPU list `pid` may run on, as taskset prints it ('0,1', '0-1'). */
export function readAffinity(pid: number): string {
  const result = spawnSync('taskset', ['-cp', String(pid)], { encoding: 'utf8' });
  const list = /affinity list:\s*(\S+)/.exec(result.stdout ?? '')?.[1];
  if (result.status !== 0 || !list) throw new Error(`taskset -cp ${pid} failed: ${result.stderr}`);
  return list;
}

/** `node <args>` from the repository root, pinned to one CPU with taskset where available (and asked). */
export function spawnPinned(
  cpu: number | undefined,
  args: string[],
  options: Parameters<typeof spawn>[2],
): ChildProcess {
  const pin = cpu !== undefined && canPin() ? ['taskset', '-c', String(cpu)] : [];
  const [command, ...rest] = [...pin, process.execPath, ...args];
  return spawn(command!, rest, { cwd: ROOT, ...options });
}

/** User + system CPU time of a process, ms (Linux /proc; clock ticks of 10 ms). */
export function readCpuMs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

/** CPU time of this process's children that have exited and been waited for, ms. */
export function readExitedChildrenCpuMs(): number {
  const fields = readFileSync('/proc/self/stat', 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[13]) + Number(fields[14])) * 10;
}

/** Resident set size of a process, MB. */
export function readRssMb(pid: number): number {
  const kb = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
  return Number(kb ?? 0) / 1024;
}

/** CPU time the whole machine spent busy (all cores, steal included), ms, from /proc/stat. */
export function readMachineBusyMs(): number {
  const [, ...fields] = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/);
  const ticks = fields.map(Number);
  const idle = (ticks[3] ?? 0) + (ticks[4] ?? 0);
  return (ticks.slice(0, 8).reduce((a, b) => a + b, 0) - idle) * 10;
}

/** CPU time the hypervisor gave this machine's CPUs to someone else, ms, from /proc/stat. */
export function readStealMs(): number {
  const fields = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/);
  return Number(fields[8] ?? 0) * 10;
}
