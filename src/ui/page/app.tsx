/**
 * The page (docs/ui.md): VMs, checkpoint tree, disk files, block map, groups, a PowerShell pane
 * and the guided lesson, over a Backend (the server, or the simulator in the page). Every name
 * is rendered as text by Preact (never as HTML).
 */
import { useCallback, useEffect, useMemo, useRef, useState } from 'preact/hooks';
import type { JSX } from 'preact';
import type { PowerKind, UiAction, UiActionResult, UiBlocks, UiMerge, UiState, UiVm, VMSnapshot } from '../types.js';
import type { Backend } from './api.js';
import { bytes, hex, layerColour, when } from './format.js';
import { lessonSteps, type LessonStep } from './lesson.js';

type Theme = 'light' | 'dark';
type Panel = 'lesson' | 'powershell' | 'groups' | 'log';

/** What changed between two states, as keys the views highlight ("vm:<id>", "snap:<id>", "file:<path>"). */
function changedKeys(a: UiState | null, b: UiState): Set<string> {
  const out = new Set<string>();
  if (!a) return out;
  for (const v of b.vms) {
    const old = a.vms.find((x) => x.vm.Id === v.vm.Id);
    if (!old || old.vm.State !== v.vm.State || old.vm.ParentSnapshotId !== v.vm.ParentSnapshotId) out.add(`vm:${v.vm.Id}`);
    // Checkpoints and files are compared only where both states list them (the VM shown in detail).
    if (!old?.detail || !v.detail) continue;
    for (const s of v.snapshots) {
      const o = old.snapshots.find((x) => x.Id === s.Id);
      if (!o || o.Name !== s.Name) out.add(`snap:${s.Id}`);
    }
    for (const d of v.drives)
      for (const f of d.files) {
        const o = old.drives[d.index]?.files.find((x) => x.path === f.path);
        if (!o || o.readOnly !== f.readOnly || o.sizeOnDisk !== f.sizeOnDisk) out.add(`file:${f.path}`);
      }
  }
  return out;
}

/** Slowest an animated merge plays (a real merge of a few MiB takes a fraction of a second). */
const MIN_ANIMATION_MS = 1500;

interface Animation {
  merge: UiMerge;
  start: number;
  duration: number;
  /** The VM's files as they were before (shown until the animation ends, then the new state). */
  drives: UiVm['drives'] | undefined;
}

export function App({ backend, initialTheme }: { backend: Backend; initialTheme: Theme }): JSX.Element {
  const [state, setState] = useState<UiState | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [selected, setSelected] = useState<string | null>(null);
  const [checked, setChecked] = useState<Set<string>>(new Set());
  const [drive, setDrive] = useState(0);
  const [blocks, setBlocks] = useState<UiBlocks | null>(null);
  const [theme, setTheme] = useState<Theme>(initialTheme);
  const [panel, setPanel] = useState<Panel>('lesson');
  const [changed, setChanged] = useState<Set<string>>(new Set());
  const [log, setLog] = useState<Array<{ ok: boolean; text: string }>>([]);
  const [animations, setAnimations] = useState<Animation[]>([]);
  const [busy, setBusy] = useState(false);
  // The lesson's place survives switching tabs.
  const lessonAt = useState(0);
  const lessonDone = useState<Record<number, string>>({});
  const prev = useRef<UiState | null>(null);

  useEffect(() => {
    document.documentElement.dataset.theme = theme;
    try {
      localStorage.setItem('hvsim-theme', theme);
    } catch {
      // storage unavailable: the theme lasts for this page only
    }
  }, [theme]);

  // The VM shown in detail, for refreshes started by events (which see no React state).
  const selectedRef = useRef<string | null>(null);
  selectedRef.current = selected;
  const refresh = useCallback(async () => {
    try {
      const s = await backend.state(selectedRef.current ?? undefined);
      const keys = changedKeys(prev.current, s);
      prev.current = s;
      setState(s);
      setError(null);
      if (keys.size > 0) {
        setChanged(keys);
        setTimeout(() => setChanged((c) => (c === keys ? new Set() : c)), 4000);
      }
    } catch (e) {
      setError(e instanceof Error ? e.message : String(e));
    }
  }, [backend]);

  useEffect(() => {
    void refresh();
    backend.onChange(() => void refresh());
  }, [backend, refresh]);

  // A newly selected VM's files come with the next state.
  useEffect(() => {
    if (selected !== null && state && !state.vms.find((v) => v.vm.Name === selected)?.detail) void refresh();
  }, [selected]);

  // The selected VM: the first one until the user picks.
  const vm: UiVm | undefined = state?.vms.find((v) => v.vm.Name === selected) ?? state?.vms[0];
  useEffect(() => {
    if (state && vm && selected !== vm.vm.Name) setSelected(vm.vm.Name);
  }, [state, vm, selected]);

  // The block map follows the selected VM's drive and every state change.
  const blocksKey = vm ? `${vm.vm.Name}|${drive}|${state?.version}|${vm.drives[drive]?.files.map((f) => `${f.path}:${f.sizeOnDisk}`).join(',')}` : '';
  useEffect(() => {
    if (!vm || !vm.drives[drive]) {
      setBlocks(null);
      return;
    }
    // While a merge of this VM animates, keep the picture from before it.
    if (animations.some((a) => a.merge.vmId === vm.vm.Id)) return;
    let live = true;
    backend.blocks(vm.vm.Name, drive).then(
      (b) => live && setBlocks(b),
      (e: unknown) => live && setError(e instanceof Error ? e.message : String(e)),
    );
    return () => {
      live = false;
    };
  }, [blocksKey, animations.length]);

  const note = (ok: boolean, text: string): void => setLog((l) => [...l.slice(-199), { ok, text }]);

  const startAnimations = (merges: UiMerge[] | undefined): void => {
    if (!merges || merges.length === 0) return;
    const now = performance.now();
    const before = prev.current;
    const added = merges.map((m) => ({ merge: m, start: now, duration: Math.max(m.until - m.now, MIN_ANIMATION_MS), drives: before?.vms.find((v) => v.vm.Id === m.vmId)?.drives }));
    setAnimations((a) => [...a.filter((x) => !merges.some((m) => m.vmId === x.merge.vmId)), ...added]);
    const longest = Math.max(...added.map((a) => a.duration));
    setTimeout(() => {
      setAnimations((a) => a.filter((x) => !added.includes(x)));
      void refresh();
    }, longest + 50);
  };

  const act = async (a: UiAction): Promise<UiActionResult | undefined> => {
    setBusy(true);
    try {
      const r = await backend.action(a);
      for (const l of r.lines) note(true, l);
      for (const w of r.warnings) note(true, `WARNING: ${w}`);
      if (r.error) note(false, `${r.error.code}: ${r.error.message}`);
      startAnimations(r.merges);
      await refresh();
      return r;
    } catch (e) {
      note(false, e instanceof Error ? e.message : String(e));
      return undefined;
    } finally {
      setBusy(false);
    }
  };

  const runPs = async (source: string): Promise<{ output: string; exitCode: number }> => {
    const r = await backend.run(source);
    startAnimations(r.merges);
    await refresh();
    return r;
  };

  const targets = (): string[] => (checked.size > 0 ? [...checked] : vm ? [vm.vm.Name] : []);

  if (!state) return <main class="loading">{error ? `hvsim ui: ${error}` : 'Loading…'}</main>;

  return (
    <div class="app">
      <header class="top">
        <h1>hvsim</h1>
        <span class="host" title="ComputerName">
          Host <b>{state.computerName}</b> · {new Date(state.now).toLocaleTimeString('en-US')} {state.clockMode === 'simulated' ? '(simulated clock)' : ''}
        </span>
        {error && <span class="error" role="alert">{error}</span>}
        <button type="button" class="theme" aria-label="Switch between light and dark theme" onClick={() => setTheme(theme === 'light' ? 'dark' : 'light')}>
          {theme === 'light' ? 'Dark theme' : 'Light theme'}
        </button>
      </header>
      <div class="grid">
        <section class="view vms" id="view-vms" aria-labelledby="h-vms">
          <h2 id="h-vms">Virtual Machines</h2>
          <VmList state={state} selected={vm?.vm.Name} checked={checked} changed={changed} onSelect={(n) => setSelected(n)} onCheck={setChecked} />
          <VmActions busy={busy} targets={targets()} act={act} />
        </section>
        <section class="view checkpoints" id="view-checkpoints" aria-labelledby="h-checkpoints">
          <h2 id="h-checkpoints">Checkpoints {vm && <span class="sub">— {vm.vm.Name}</span>}</h2>
          {vm ? <CheckpointTree vm={vm} changed={changed} act={act} busy={busy} /> : <p class="empty">No virtual machine yet. Create one below the list, or start the lesson.</p>}
        </section>
        <section class="view disks" id="view-disks" aria-labelledby="h-disks">
          <h2 id="h-disks">Disk files {vm && <span class="sub">— {vm.vm.Name}</span>}</h2>
          {vm && <Disks vm={vm} drive={drive} setDrive={setDrive} changed={changed} animation={animations.find((a) => a.merge.vmId === vm.vm.Id)} act={act} busy={busy} />}
        </section>
        <section class="view blocks" id="view-blocks" aria-labelledby="h-blocks">
          <h2 id="h-blocks">Blocks {vm && <span class="sub">— {vm.vm.Name}, drive {drive}</span>}</h2>
          {vm && blocks && blocks.vmName === vm.vm.Name && <BlockMap blocks={blocks} animation={animations.find((a) => a.merge.vmId === vm.vm.Id)} />}
        </section>
      </div>
      <section class="panel" aria-label="Lesson, PowerShell, groups and activity">
        <div role="tablist" class="tabs">
          {(['lesson', 'powershell', 'groups', 'log'] as const).map((p) => (
            <button type="button" role="tab" id={`tab-${p}`} aria-selected={panel === p} aria-controls={`panel-${p}`} class={panel === p ? 'on' : ''} onClick={() => setPanel(p)}>
              {{ lesson: 'Guided lesson', powershell: 'PowerShell', groups: 'Groups', log: `Activity (${log.length})` }[p]}
            </button>
          ))}
        </div>
        <div role="tabpanel" id={`panel-${panel}`} aria-labelledby={`tab-${panel}`} class="tabpanel">
          {panel === 'lesson' && (
            <Lesson
              steps={lessonSteps(state.computerName, backend.exportHint)}
              runPs={runPs}
              act={act}
              onStep={(s) => {
                if (s.vm && state.vms.some((v) => v.vm.Name === s.vm)) setSelected(s.vm);
              }}
              selectVm={setSelected}
              at={lessonAt}
              done={lessonDone}
            />
          )}
          {panel === 'powershell' && <PowerShellPane runPs={runPs} />}
          {panel === 'groups' && <Groups state={state} />}
          {panel === 'log' && (
            <ol class="log" aria-live="polite">
              {log.map((l) => (
                <li class={l.ok ? '' : 'bad'}>{l.text}</li>
              ))}
            </ol>
          )}
        </div>
      </section>
    </div>
  );
}

// ---------------------------------------------------------------- VMs

function VmList(p: { state: UiState; selected: string | undefined; checked: Set<string>; changed: Set<string>; onSelect(n: string): void; onCheck(s: Set<string>): void }): JSX.Element {
  const hosts = new Set(p.state.vms.map((v) => v.vm.ComputerName));
  return (
    <table class="vmlist">
      <thead>
        <tr>
          <th scope="col"><span class="sr">Select</span></th>
          <th scope="col">Name</th>
          <th scope="col">State</th>
          <th scope="col">Uptime</th>
          <th scope="col" title="Assigned memory">Memory</th>
          <th scope="col">Checkpoints</th>
          {hosts.size > 1 && <th scope="col">Host</th>}
        </tr>
      </thead>
      <tbody>
        {p.state.vms.map((v) => {
          const n = v.vm.Name;
          return (
            <tr class={`${n === p.selected ? 'sel' : ''} ${p.changed.has(`vm:${v.vm.Id}`) ? 'changed' : ''}`} data-vm={n}>
              <td>
                <input
                  type="checkbox"
                  aria-label={`Include ${n} in actions`}
                  checked={p.checked.has(n)}
                  onChange={(e) => {
                    const s = new Set(p.checked);
                    if ((e.target as HTMLInputElement).checked) s.add(n);
                    else s.delete(n);
                    p.onCheck(s);
                  }}
                />
              </td>
              <td>
                <button type="button" class="link vmname" aria-pressed={n === p.selected} onClick={() => p.onSelect(n)}>
                  {n}
                </button>
              </td>
              <td class={`state st-${v.vm.State}`}>
                {v.vm.State}
                {v.merge ? ' (merging)' : ''}
                {v.vm.PrimaryOperationalStatus === 'Degraded' ? ' (degraded)' : ''}
              </td>
              <td>{v.vm.Uptime.replace(/\.\d+$/, '')}</td>
              <td>{v.vm.MemoryAssigned ? bytes(v.vm.MemoryAssigned) : '—'}</td>
              <td>{v.snapshotCount}</td>
              {hosts.size > 1 && <td>{v.vm.ComputerName}</td>}
            </tr>
          );
        })}
      </tbody>
    </table>
  );
}

function VmActions(p: { busy: boolean; targets: string[]; act(a: UiAction): Promise<unknown> }): JSX.Element {
  const [name, setName] = useState('');
  const [snapName, setSnapName] = useState('');
  const power = (kind: PowerKind): Promise<unknown> => p.act({ op: 'power', kind, vms: p.targets });
  const none = p.targets.length === 0 || p.busy;
  return (
    <div class="actions">
      <div class="row" role="group" aria-label="Power">
        <span class="for">{p.targets.length > 1 ? `${p.targets.length} VMs:` : p.targets[0] ? `${p.targets[0]}:` : ''}</span>
        <button type="button" disabled={none} onClick={() => power('start')}>Start</button>
        <button type="button" disabled={none} onClick={() => power('save')}>Save</button>
        <button type="button" disabled={none} onClick={() => power('turnoff')}>Turn off</button>
        <button type="button" disabled={none} onClick={() => power('stop')}>Shut down</button>
        <button type="button" disabled={none} onClick={() => power('pause')}>Pause</button>
        <button type="button" disabled={none} onClick={() => power('resume')}>Resume</button>
      </div>
      <form
        class="row"
        onSubmit={(e) => {
          e.preventDefault();
          void p.act({ op: 'checkpoint', vms: p.targets, ...(snapName ? { snapshotName: snapName } : {}) });
          setSnapName('');
        }}
      >
        <label>
          Checkpoint name <input value={snapName} onInput={(e) => setSnapName((e.target as HTMLInputElement).value)} placeholder="(default)" />
        </label>
        <button type="submit" disabled={none}>Checkpoint</button>
        <button type="button" disabled={none} title="Pause all, save, checkpoint each, resume: all or nothing" onClick={() => void p.act({ op: 'checkpoint-group', vms: p.targets, ...(snapName ? { snapshotName: snapName } : {}) })}>
          Group checkpoint
        </button>
      </form>
      <form
        class="row"
        onSubmit={(e) => {
          e.preventDefault();
          if (name) void p.act({ op: 'new-vm', name, diskSize: 64 * 1024 * 1024 });
          setName('');
        }}
      >
        <label>
          New VM <input value={name} onInput={(e) => setName((e.target as HTMLInputElement).value)} placeholder="name" />
        </label>
        <button type="submit" disabled={p.busy || !name}>Create (64 MiB disk)</button>
      </form>
    </div>
  );
}

// ---------------------------------------------------------------- checkpoints

function CheckpointTree(p: { vm: UiVm; changed: Set<string>; act(a: UiAction): Promise<unknown>; busy: boolean }): JSX.Element {
  const [sel, setSel] = useState<string | null>(null);
  const [newName, setNewName] = useState('');
  const snaps = p.vm.snapshots;
  const chosen = snaps.find((s) => s.Id === sel);
  const children = (id: string | null): VMSnapshot[] => snaps.filter((s) => s.ParentSnapshotId === id).sort((a, b) => a.CreationTime.localeCompare(b.CreationTime));
  const now = p.vm.vm.ParentSnapshotId;
  const render = (parent: string | null): JSX.Element[] => {
    const items = children(parent).map((s) => (
      <li class={p.changed.has(`snap:${s.Id}`) ? 'changed' : ''}>
        <button type="button" class={`node ${s.Id === sel ? 'sel' : ''}`} aria-pressed={s.Id === sel} data-snapshot={s.Name} onClick={() => setSel(s.Id === sel ? null : s.Id)}>
          <span class="name">{s.Name}</span>
          <span class="meta">
            {when(s.CreationTime)} · {s.CheckpointType}
            {s.GroupId ? ' · group' : ''}
          </span>
        </button>
        <ul>{render(s.Id)}</ul>
      </li>
    ));
    if (parent === now)
      items.push(
        <li class="now" aria-label="Now: the VM's current state">
          <span class="node now-node">▶ Now</span>
        </li>,
      );
    return items;
  };
  const ref = chosen ? { vm: p.vm.vm.Name, id: chosen.Id } : null;
  return (
    <div class="tree-wrap">
      <ul class="tree" aria-label={`Checkpoints of ${p.vm.vm.Name}`}>
        {render(null)}
      </ul>
      <div class="actions" aria-label="Checkpoint actions">
        {chosen && ref ? (
          <>
            <div class="row">
              <span class="for">“{chosen.Name}”:</span>
              <button type="button" disabled={p.busy} onClick={() => void p.act({ op: 'apply', ...ref })}>Apply</button>
              <button type="button" disabled={p.busy} onClick={() => void p.act({ op: 'remove', ...ref, subtree: false }).then(() => setSel(null))}>Delete checkpoint</button>
              <button type="button" disabled={p.busy} onClick={() => void p.act({ op: 'remove', ...ref, subtree: true }).then(() => setSel(null))}>Delete checkpoint subtree</button>
              <button type="button" disabled={p.busy} onClick={() => void p.act({ op: 'export', ...ref })}>Export</button>
            </div>
            <form
              class="row"
              onSubmit={(e) => {
                e.preventDefault();
                if (newName) void p.act({ op: 'rename', ...ref, newName });
                setNewName('');
              }}
            >
              <label>
                Rename to <input value={newName} onInput={(e) => setNewName((e.target as HTMLInputElement).value)} />
              </label>
              <button type="submit" disabled={p.busy || !newName}>Rename</button>
            </form>
          </>
        ) : (
          <p class="hint">Select a checkpoint to apply, delete, export or rename it.</p>
        )}
      </div>
    </div>
  );
}

// ---------------------------------------------------------------- disks

function Disks(p: { vm: UiVm; drive: number; setDrive(n: number): void; changed: Set<string>; animation: Animation | undefined; act(a: UiAction): Promise<unknown>; busy: boolean }): JSX.Element {
  const drives = p.animation?.drives ?? p.vm.drives;
  const d = drives[p.drive] ?? drives[0];
  const [offset, setOffset] = useState('0');
  const [length, setLength] = useState('1M');
  const progress = useProgress(p.animation);
  if (!d) return <p class="empty">No drive.</p>;
  const removed = new Set(p.animation?.merge.steps.filter((s) => s.drive === d.index).flatMap((s) => s.removed) ?? []);
  const parse = (t: string): number => {
    const m = /^\s*(\d+)\s*([KMG]?)i?B?\s*$/i.exec(t);
    if (!m) return NaN;
    return Number(m[1]) * { '': 1, K: 1024, M: 1024 ** 2, G: 1024 ** 3 }[m[2]!.toUpperCase() as '' | 'K' | 'M' | 'G'];
  };
  // Newest on top, base at the bottom: the stack a read walks down.
  const files = [...d.files].reverse();
  return (
    <div>
      {drives.length > 1 && (
        <label>
          Drive{' '}
          <select value={p.drive} onChange={(e) => p.setDrive(Number((e.target as HTMLSelectElement).value))}>
            {drives.map((x) => (
              <option value={x.index}>{x.index}</option>
            ))}
          </select>
        </label>
      )}
      <ol class="stack" aria-label={`Files of drive ${d.index}, newest first`}>
        {files.map((f) => {
          const parent = d.files.find((x) => x.path === f.parent);
          const leaving = removed.has(f.path);
          return (
            <li class={`file ${f.current ? 'current' : ''} ${f.inCurrentChain ? 'chain' : 'branch'} ${p.changed.has(`file:${f.path}`) ? 'changed' : ''} ${leaving || f.merging ? 'merging' : ''}`} data-file={f.name} title={f.path}>
              <div class="fname">
                <span class="name">{f.name}</span>
                <span class={`badge ${f.readOnly ? 'ro' : 'rw'}`}>{f.missing ? 'missing' : f.readOnly ? 'read-only' : 'writable'}</span>
              </div>
              <div class="fmeta">
                {bytes(f.sizeOnDisk)} on disk · virtual {bytes(f.virtualSize)}
                {parent ? ` · parent ${parent.name}` : ' · base'}
                {f.checkpoints.length > 0 ? ` · checkpoint ${f.checkpoints.map((c) => `“${c}”`).join(', ')}` : ''}
                {f.current ? ' · Now writes here' : ''}
              </div>
              {(leaving || f.merging) && (
                <div class="mergebar" role="progressbar" aria-label={`Merging ${f.name}`} aria-valuemin={0} aria-valuemax={100} aria-valuenow={Math.round(progress * 100)}>
                  <span style={{ width: `${Math.round(progress * 100)}%` }} />
                </div>
              )}
            </li>
          );
        })}
      </ol>
      <form
        class="row actions"
        onSubmit={(e) => {
          e.preventDefault();
          void p.act({ op: 'write', vm: p.vm.vm.Name, drive: d.index, offset: parse(offset), length: parse(length) });
        }}
      >
        <label>
          Write at offset <input size={6} value={offset} onInput={(e) => setOffset((e.target as HTMLInputElement).value)} />
        </label>
        <label>
          length <input size={5} value={length} onInput={(e) => setLength((e.target as HTMLInputElement).value)} />
        </label>
        <button type="submit" disabled={p.busy || p.vm.vm.State !== 'Running'} title={p.vm.vm.State !== 'Running' ? 'The guest writes only while the VM runs' : ''}>
          Write
        </button>
      </form>
    </div>
  );
}

/** 0 → 1 over an animation's duration (re-rendering as it goes), 0 without one. */
function useProgress(a: Animation | undefined): number {
  const [, tick] = useState(0);
  useEffect(() => {
    if (!a) return;
    let id = 0;
    const step = (): void => {
      tick((t) => t + 1);
      if (performance.now() - a.start < a.duration) id = requestAnimationFrame(step);
    };
    id = requestAnimationFrame(step);
    return () => cancelAnimationFrame(id);
  }, [a]);
  return a ? Math.min(1, (performance.now() - a.start) / a.duration) : 0;
}

// ---------------------------------------------------------------- blocks

function BlockMap(p: { blocks: UiBlocks; animation: Animation | undefined }): JSX.Element {
  const b = p.blocks;
  const [info, setInfo] = useState<string>('');
  const progress = useProgress(p.animation);
  const leaf = b.layers.length - 1;
  // During a merge: bins of a removed layer take the colour of the layer receiving them, left to right.
  const owner = useMemo(() => {
    const a = p.animation;
    if (!a) return b.owner;
    const index = (path: string | null): number => (path === null ? -1 : b.layers.findIndex((l) => l.path === path));
    const moves = new Map<number, number>();
    for (const s of a.merge.steps.filter((x) => x.drive === b.drive)) for (const r of s.removed) moves.set(index(r), index(s.into));
    const moving = b.owner.map((o, i) => (moves.has(o) ? i : -1)).filter((i) => i >= 0);
    const done = Math.floor(moving.length * progress);
    const out = [...b.owner];
    for (const i of moving.slice(0, done)) out[i] = moves.get(b.owner[i]!)!;
    return out;
  }, [b, p.animation, progress]);
  const describe = (i: number): string => {
    const o = owner[i]!;
    const from = i * b.binSize;
    const to = Math.min(b.virtualSize, from + b.binSize);
    const depth = o < 0 ? b.layers.length : leaf - o + 1;
    return `${hex(from)}–${hex(to)} (${bytes(from)}): ${o < 0 ? 'never written (reads as zeros)' : b.layers[o]!.name}; a read walks ${depth} ${depth === 1 ? 'layer' : 'layers'}${b.sources[i]! > 1 ? `; ${b.sources[i]} sources in this slice` : ''}`;
  };
  return (
    <div class="blockmap">
      <div class="cells" role="grid" aria-label="Block map: which file supplies each slice of the virtual disk" onMouseLeave={() => setInfo('')}>
        {owner.map((o, i) => (
          <span
            role="gridcell"
            tabIndex={i === 0 ? 0 : -1}
            class={`cell ${o < 0 ? 'zero' : ''}`}
            style={{ background: layerColour(o) }}
            title={describe(i)}
            aria-label={describe(i)}
            onMouseEnter={() => setInfo(describe(i))}
            onFocus={() => setInfo(describe(i))}
            onKeyDown={(e) => {
              const k = e.key;
              const d = k === 'ArrowRight' ? 1 : k === 'ArrowLeft' ? -1 : k === 'ArrowDown' ? 32 : k === 'ArrowUp' ? -32 : 0;
              if (!d) return;
              e.preventDefault();
              const next = (e.currentTarget.parentElement?.children[i + d] as HTMLElement | undefined) ?? null;
              next?.focus();
            }}
          />
        ))}
      </div>
      <p class="info" aria-live="polite">{info || `Hover or focus a slice (each ${bytes(b.binSize)}) to see where it is read from.`}</p>
      <ul class="legend">
        {b.layers.map((l, i) => (
          <li>
            <span class="swatch" style={{ background: layerColour(i) }} /> {l.name} {i === leaf ? '(writable leaf)' : i === 0 ? '(base)' : ''} — supplies {bytes(l.suppliedBytes)}
          </li>
        ))}
        <li>
          <span class="swatch zero" style={{ background: layerColour(-1) }} /> never written (zeros)
        </li>
      </ul>
      <p class="probes">
        Chain depth {b.layers.length}: a random read looks up {b.expectedProbes.toFixed(2)} layers on average walking down from the leaf, {b.maxProbes} at most.
        {p.animation ? ` Merging… ${Math.round(progress * 100)}%` : ''}
      </p>
    </div>
  );
}

// ---------------------------------------------------------------- groups

function Groups({ state }: { state: UiState }): JSX.Element {
  if (state.groups.length === 0) return <p class="empty">No group checkpoint yet. Tick several VMs and press “Group checkpoint”.</p>;
  return (
    <div class="groups" id="view-groups">
      {state.groups.map((g) => {
        const t = g.timeline;
        const start = Date.parse(t?.start ?? g.created[0]?.time ?? '');
        const times = [...(t ? [Date.parse(t.end)] : []), ...g.created.map((c) => Date.parse(c.time)), ...(t?.members.map((m) => Date.parse(m.frozenAt)) ?? [])];
        const span = Math.max(1, Math.max(...times) - start);
        const x = (ms: number): string => `${(((ms - start) / span) * 100).toFixed(2)}%`;
        return (
          <figure class="group">
            <figcaption>
              “{g.snapshotName}” — {g.members.join(', ')}
              {t ? ` · freeze skew ${t.skewMs} ms · ${Date.parse(t.end) - Date.parse(t.start)} ms in all` : ' · (timeline known only for groups taken in this page: showing creation times)'}
            </figcaption>
            {g.members.map((m) => {
              const tm = t?.members.find((x) => x.vmName === m);
              const created = g.created.find((c) => c.vmName === m);
              return (
                <div class="lane" data-vm={m}>
                  <span class="lname">{m}</span>
                  <div class="track">
                    {tm && t && <span class="seg frozen" style={{ left: x(Date.parse(tm.frozenAt)), width: `calc(${x(Date.parse(t.end))} - ${x(Date.parse(tm.frozenAt))})` }} title={`paused at ${tm.frozenAt}, saved, checkpointed, back to ${tm.state} by ${t.end}`} />}
                    {tm && <span class="mark pause" style={{ left: x(Date.parse(tm.frozenAt)) }} title={`pause + save: ${tm.frozenAt}`}>■</span>}
                    {created && <span class="mark snap" style={{ left: x(Date.parse(created.time)) }} title={`checkpoint: ${created.time}`}>◆</span>}
                    {tm && t && <span class="mark resume" style={{ left: x(Date.parse(t.end)) }} title={`resumed (${tm.state}) by ${t.end}`}>▶</span>}
                  </div>
                </div>
              );
            })}
          </figure>
        );
      })}
      <p class="hint">■ pause and save · ◆ checkpoint · ▶ back to its prior state. The skew is the largest difference between the VMs' freeze instants.</p>
    </div>
  );
}

// ---------------------------------------------------------------- PowerShell

function PowerShellPane({ runPs }: { runPs(s: string): Promise<{ output: string; exitCode: number }> }): JSX.Element {
  const [src, setSrc] = useState('Get-VM');
  const [history, setHistory] = useState<Array<{ src: string; out: string }>>([]);
  const [running, setRunning] = useState(false);
  const outRef = useRef<HTMLDivElement>(null);
  useEffect(() => outRef.current?.scrollTo(0, outRef.current.scrollHeight), [history]);
  const run = async (): Promise<void> => {
    if (!src.trim()) return;
    setRunning(true);
    try {
      const r = await runPs(src);
      setHistory((h) => [...h, { src, out: r.output }]);
      setSrc('');
    } catch (e) {
      setHistory((h) => [...h, { src, out: `hvsim: ${e instanceof Error ? e.message : String(e)}\n` }]);
    } finally {
      setRunning(false);
    }
  };
  return (
    <div class="ps" id="view-powershell">
      <div class="psout" ref={outRef} aria-live="polite">
        {history.map((h) => (
          <div class="entry">
            <pre class="cmd">PS&gt; {h.src}</pre>
            <pre class="out">{h.out}</pre>
          </div>
        ))}
      </div>
      <form
        class="psin"
        onSubmit={(e) => {
          e.preventDefault();
          void run();
        }}
      >
        <label for="ps-input" class="prompt">PS&gt;</label>
        <textarea
          id="ps-input"
          rows={2}
          spellcheck={false}
          value={src}
          aria-label="PowerShell command (Enter runs, Shift+Enter adds a line)"
          onInput={(e) => setSrc((e.target as HTMLTextAreaElement).value)}
          onKeyDown={(e) => {
            if (e.key === 'Enter' && !e.shiftKey) {
              e.preventDefault();
              void run();
            }
          }}
        />
        <button type="submit" disabled={running}>Run</button>
      </form>
    </div>
  );
}

// ---------------------------------------------------------------- lesson

function Lesson(p: {
  steps: LessonStep[];
  runPs(s: string): Promise<{ output: string; exitCode: number }>;
  act(a: UiAction): Promise<UiActionResult | undefined>;
  onStep(s: LessonStep): void;
  selectVm(n: string): void;
  at: [number, (n: number) => void];
  done: [Record<number, string>, (f: (d: Record<number, string>) => Record<number, string>) => void];
}): JSX.Element {
  const [at, setAt] = p.at;
  const [done, setDone] = p.done;
  const [running, setRunning] = useState(false);
  const step = p.steps[at]!;
  const shown = 'ps' in step.run ? step.run.ps : step.run.shown;
  const run = async (): Promise<void> => {
    setRunning(true);
    p.onStep(step);
    try {
      let out = '';
      if ('ps' in step.run) out = (await p.runPs(step.run.ps)).output;
      else
        for (const a of step.run.actions) {
          const r = await p.act(a);
          out += r ? [...r.lines, ...(r.error ? [`${r.error.code}: ${r.error.message}`] : [])].join('\n') + '\n' : 'failed\n';
        }
      // The seed's own words for a confirmation that prints nothing.
      setDone((d) => ({ ...d, [at]: out.trim() === '' ? '< no output>' : out }));
      if (step.vm) p.selectVm(step.vm);
      document.getElementById(`view-${step.look}`)?.classList.add('look');
      setTimeout(() => document.getElementById(`view-${step.look}`)?.classList.remove('look'), 4000);
    } finally {
      setRunning(false);
    }
  };
  return (
    <div class="lesson" id="view-lesson">
      <ol class="steps" aria-label="Lesson steps">
        {p.steps.map((s, i) => (
          <li class={`${i === at ? 'at' : ''} ${done[i] !== undefined ? 'done' : ''}`}>
            <button type="button" class="link" aria-current={i === at ? 'step' : undefined} onClick={() => setAt(i)}>
              {s.title}
            </button>
          </li>
        ))}
      </ol>
      <article class="step" aria-labelledby="step-title">
        <h3 id="step-title">
          Step {at + 1} of {p.steps.length}: {step.title}
        </h3>
        <p>{step.explain}</p>
        <pre class="cmd">{shown}</pre>
        <div class="row">
          <button type="button" class="primary" disabled={running} onClick={() => void run()} data-lesson-run={at}>
            {done[at] !== undefined ? 'Run again' : 'Run this step'}
          </button>
          <button type="button" disabled={at === 0} onClick={() => setAt(at - 1)}>Previous</button>
          <button type="button" disabled={at === p.steps.length - 1} onClick={() => setAt(at + 1)} data-lesson-next>
            Next
          </button>
          <span class="hint">Then look at: {{ vms: 'Virtual Machines', checkpoints: 'Checkpoints', disks: 'Disk files', blocks: 'Blocks', groups: 'Groups' }[step.look]}</span>
        </div>
        {done[at] !== undefined && <pre class="out" data-lesson-output={at}>{done[at]}</pre>}
      </article>
    </div>
  );
}
