/**
 * Reads a V8 .heapsnapshot (the JSON of v8.writeHeapSnapshot) and answers two questions:
 *  - self size by class, grouped the way the "Summary" view of Chrome DevTools groups nodes (objects
 *    by constructor name; closures, strings, arrays and V8-internal nodes by kind). The difference of
 *    two snapshots (before and after N sessions) is what N sessions add, class by class.
 *  - retained size by field of one class: the dominator tree of the heap graph (Cooper, Harvey and
 *    Kennedy, "A Simple, Fast Dominance Algorithm", 2001; weak and shortcut edges ignored, as DevTools
 *    does), summed per property over every instance. A field's figure is what would be freed if that
 *    property were dropped; objects shared between fields (reachable through two of them) are charged
 *    to the instance itself rather than to either field.
 */
import { readFileSync } from 'node:fs';

interface RawSnapshot {
  readonly snapshot: {
    readonly meta: {
      readonly node_fields: readonly string[];
      readonly node_types: readonly [readonly string[], ...unknown[]];
      readonly edge_fields: readonly string[];
      readonly edge_types: readonly [readonly string[], ...unknown[]];
    };
  };
  readonly nodes: readonly number[];
  readonly edges: readonly number[];
  readonly strings: readonly string[];
}

/** The heap graph in flat arrays (node i, edge e as in the snapshot format). */
export interface HeapGraph {
  readonly count: number;
  readonly nodeType: Uint8Array;
  readonly nodeName: Uint32Array;
  readonly selfSize: Float64Array;
  /** Edges of node i: firstEdge[i] .. firstEdge[i + 1] - 1. */
  readonly firstEdge: Uint32Array;
  readonly edgeType: Uint8Array;
  /** Property name (string index) or element index, by edge type. */
  readonly edgeName: Uint32Array;
  readonly edgeTo: Uint32Array;
  readonly strings: readonly string[];
  readonly nodeTypes: readonly string[];
  readonly edgeTypes: readonly string[];
}

export interface ClassTotal {
  readonly name: string;
  readonly count: number;
  readonly selfSize: number;
}

export interface FieldRetained {
  readonly field: string;
  /** Bytes retained through this field, summed over every instance. */
  readonly retained: number;
}

export interface ClassRetained {
  readonly className: string;
  readonly instances: number;
  readonly selfSize: number;
  readonly retained: number;
  readonly fields: readonly FieldRetained[];
}

/** Parses a snapshot file. */
export function loadHeapGraph(path: string): HeapGraph {
  const raw = JSON.parse(readFileSync(path, 'utf8')) as RawSnapshot;
  const meta = raw.snapshot.meta;
  const nw = meta.node_fields.length;
  const ew = meta.edge_fields.length;
  const [typeAt, nameAt, sizeAt, edgeCountAt] = ['type', 'name', 'self_size', 'edge_count'].map((f) => meta.node_fields.indexOf(f)) as [number, number, number, number];
  const [eTypeAt, eNameAt, eToAt] = ['type', 'name_or_index', 'to_node'].map((f) => meta.edge_fields.indexOf(f)) as [number, number, number];
  const count = raw.nodes.length / nw;
  const edgeCount = raw.edges.length / ew;
  const g = {
    count,
    nodeType: new Uint8Array(count),
    nodeName: new Uint32Array(count),
    selfSize: new Float64Array(count),
    firstEdge: new Uint32Array(count + 1),
    edgeType: new Uint8Array(edgeCount),
    edgeName: new Uint32Array(edgeCount),
    edgeTo: new Uint32Array(edgeCount),
    strings: raw.strings,
    nodeTypes: meta.node_types[0],
    edgeTypes: meta.edge_types[0],
  };
  let e = 0;
  for (let i = 0; i < count; i++) {
    const at = i * nw;
    g.nodeType[i] = raw.nodes[at + typeAt] as number;
    g.nodeName[i] = raw.nodes[at + nameAt] as number;
    g.selfSize[i] = raw.nodes[at + sizeAt] as number;
    g.firstEdge[i] = e;
    e += raw.nodes[at + edgeCountAt] as number;
  }
  g.firstEdge[count] = e;
  for (let k = 0; k < edgeCount; k++) {
    const at = k * ew;
    g.edgeType[k] = raw.edges[at + eTypeAt] as number;
    g.edgeName[k] = raw.edges[at + eNameAt] as number;
    g.edgeTo[k] = (raw.edges[at + eToAt] as number) / nw;
  }
  return g;
}

/** The group a node belongs to in the summary. */
function groupOf(type: string, name: string): string {
  switch (type) {
    case 'object':
      return name;
    case 'closure':
      return '(closure)';
    case 'string':
    case 'concatenated string':
    case 'sliced string':
      return '(string)';
    case 'number':
      return '(heap number)';
    case 'native':
      return name.startsWith('system / JSArrayBufferData') ? '(ArrayBuffer backing store)' : `(native) ${name}`;
    case 'array':
      return `(array) ${name === '' ? '(backing store)' : name}`;
    default:
      // hidden, code, object shape: V8's own names ("system / Context", "system / DescriptorArray").
      return `(${type}) ${name}`;
  }
}

/** Self size and instance count per class. */
export function summariseByClass(g: HeapGraph): Map<string, ClassTotal> {
  const totals = new Map<string, { count: number; selfSize: number }>();
  for (let i = 0; i < g.count; i++) {
    const key = groupOf(g.nodeTypes[g.nodeType[i] as number] ?? 'unknown', g.strings[g.nodeName[i] as number] ?? '');
    const t = totals.get(key) ?? { count: 0, selfSize: 0 };
    t.count++;
    t.selfSize += g.selfSize[i] as number;
    totals.set(key, t);
  }
  return new Map([...totals].map(([name, t]) => [name, { name, ...t }]));
}

/** What `after` holds beyond `before`, per class, largest growth first. */
export function diffSummaries(before: Map<string, ClassTotal>, after: Map<string, ClassTotal>): ClassTotal[] {
  const out: ClassTotal[] = [];
  for (const [name, a] of after) {
    const b = before.get(name);
    out.push({ name, count: a.count - (b?.count ?? 0), selfSize: a.selfSize - (b?.selfSize ?? 0) });
  }
  return out.sort((x, y) => y.selfSize - x.selfSize);
}

/** Immediate dominators and retained sizes of every node reachable from the root (node 0). */
function dominators(g: HeapGraph): { idom: Int32Array; retained: Float64Array; post: Int32Array; order: Int32Array } {
  const weak = g.edgeTypes.indexOf('weak');
  const shortcut = g.edgeTypes.indexOf('shortcut');
  const usable = (e: number): boolean => g.edgeType[e] !== weak && g.edgeType[e] !== shortcut;
  const post = new Int32Array(g.count).fill(-1);
  const order = new Int32Array(g.count);
  let n = 0;
  // Iterative depth-first search for the post-order.
  const visited = new Uint8Array(g.count);
  const stack: number[] = [0];
  const cursor: number[] = [g.firstEdge[0] as number];
  visited[0] = 1;
  while (stack.length > 0) {
    const v = stack[stack.length - 1] as number;
    let e = cursor[cursor.length - 1] as number;
    let descended = false;
    for (; e < (g.firstEdge[v + 1] as number); e++) {
      if (!usable(e)) continue;
      const to = g.edgeTo[e] as number;
      if (visited[to]) continue;
      visited[to] = 1;
      cursor[cursor.length - 1] = e + 1;
      stack.push(to);
      cursor.push(g.firstEdge[to] as number);
      descended = true;
      break;
    }
    if (!descended) {
      stack.pop();
      cursor.pop();
      post[v] = n;
      order[n++] = v;
    }
  }
  // Predecessor lists (reachable nodes only).
  const predStart = new Uint32Array(g.count + 1);
  for (let v = 0; v < g.count; v++) {
    if (post[v] as number < 0) continue;
    for (let e = g.firstEdge[v] as number; e < (g.firstEdge[v + 1] as number); e++) {
      if (usable(e)) predStart[(g.edgeTo[e] as number) + 1] = (predStart[(g.edgeTo[e] as number) + 1] as number) + 1;
    }
  }
  for (let i = 0; i < g.count; i++) predStart[i + 1] = (predStart[i + 1] as number) + (predStart[i] as number);
  const preds = new Uint32Array(predStart[g.count] as number);
  const fill = predStart.slice();
  for (let v = 0; v < g.count; v++) {
    if (post[v] as number < 0) continue;
    for (let e = g.firstEdge[v] as number; e < (g.firstEdge[v + 1] as number); e++) {
      if (!usable(e)) continue;
      const to = g.edgeTo[e] as number;
      preds[fill[to] as number] = v;
      fill[to] = (fill[to] as number) + 1;
    }
  }
  const idom = new Int32Array(g.count).fill(-1);
  idom[0] = 0;
  const intersect = (a: number, b: number): number => {
    while (a !== b) {
      while ((post[a] as number) < (post[b] as number)) a = idom[a] as number;
      while ((post[b] as number) < (post[a] as number)) b = idom[b] as number;
    }
    return a;
  };
  for (let changed = true; changed; ) {
    changed = false;
    for (let k = n - 2; k >= 0; k--) {
      const v = order[k] as number;
      let d = -1;
      for (let p = predStart[v] as number; p < (predStart[v + 1] as number); p++) {
        const u = preds[p] as number;
        if ((idom[u] as number) < 0) continue;
        d = d < 0 ? u : intersect(u, d);
      }
      if (d >= 0 && idom[v] !== d) {
        idom[v] = d;
        changed = true;
      }
    }
  }
  const retained = new Float64Array(g.count);
  for (let k = 0; k < n; k++) {
    const v = order[k] as number;
    retained[v] = (retained[v] as number) + (g.selfSize[v] as number);
    if (v !== 0) retained[idom[v] as number] = (retained[idom[v] as number] as number) + (retained[v] as number);
  }
  return { idom, retained, post, order: order.subarray(0, n) };
}

/** Retained size per field of every object whose constructor is one of `classNames`. */
export function retainedByField(g: HeapGraph, classNames: readonly string[]): ClassRetained[] {
  const { idom, retained, post } = dominators(g);
  const objectType = g.nodeTypes.indexOf('object');
  const named = new Set(['property', 'context', 'internal']);
  return classNames.map((className) => {
    const fields = new Map<string, number>();
    let instances = 0;
    let selfSize = 0;
    let total = 0;
    for (let v = 0; v < g.count; v++) {
      if (g.nodeType[v] !== objectType || g.strings[g.nodeName[v] as number] !== className || (post[v] as number) < 0) continue;
      instances++;
      selfSize += g.selfSize[v] as number;
      total += retained[v] as number;
      for (let e = g.firstEdge[v] as number; e < (g.firstEdge[v + 1] as number); e++) {
        const to = g.edgeTo[e] as number;
        if (idom[to] !== v) continue;
        const type = g.edgeTypes[g.edgeType[e] as number] ?? '';
        const field = named.has(type) ? (g.strings[g.edgeName[e] as number] ?? '?') : `[${type}]`;
        fields.set(field, (fields.get(field) ?? 0) + (retained[to] as number));
      }
    }
    return {
      className,
      instances,
      selfSize,
      retained: total,
      fields: [...fields].map(([field, r]) => ({ field, retained: r })).sort((a, b) => b.retained - a.retained),
    };
  });
}
