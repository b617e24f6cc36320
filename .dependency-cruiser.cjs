// Enforces the dependency direction of DESIGN.md §10: a folder imports only from folders above it.
//   util → crypto → aka → kdf → dtls → coap → {hss, emks, emse, ue} → cli
// and only src/crypto may import node:crypto or @noble/hashes.
const layers = ['util', 'crypto', 'aka', 'kdf', 'dtls', 'coap', 'roles', 'cli'];
const roles = ['hss', 'emks', 'emse', 'ue'];
const layerOf = (dir) => (roles.includes(dir) ? 'roles' : dir);
const dirs = ['util', 'crypto', 'aka', 'kdf', 'dtls', 'coap', ...roles, 'cli'];

const forbidden = [];
for (const from of dirs) {
  const rank = layers.indexOf(layerOf(from));
  const below = dirs.filter((to) => to !== from && layers.indexOf(layerOf(to)) >= rank);
  if (below.length > 0) {
    forbidden.push({
      name: `layer-${from}`,
      comment: `src/${from} may import only from folders above it in DESIGN.md §10`,
      severity: 'error',
      from: { path: `^src/${from}/` },
      to: { path: `^src/(${below.join('|')})/` },
    });
  }
}
forbidden.push({
  name: 'crypto-only-in-src-crypto',
  comment: 'only src/crypto imports node:crypto or @noble/hashes (DESIGN.md §10)',
  severity: 'error',
  from: { path: '^src/', pathNot: '^src/crypto/' },
  to: { path: '^(node:)?crypto$|@noble/hashes' },
});
forbidden.push({
  name: 'no-circular',
  severity: 'error',
  from: {},
  to: { circular: true },
});

module.exports = {
  forbidden,
  options: {
    doNotFollow: { path: 'node_modules' },
    tsConfig: { fileName: 'tsconfig.json' },
    tsPreCompilationDeps: true,
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['import', 'require', 'node', 'default'] },
  },
};
