import * as fs from 'fs';
import * as path from 'path';
import { describeIf } from './support/notes';
import { GENERATED_DIR, GENERATED_HEADER, renderCatalog } from '../scripts/generate-catalog';

const repo = path.resolve(__dirname, '..');
const dataDir = path.resolve(repo, '../shared/gpu-data');
const withData = describeIf(
  fs.existsSync(path.join(dataDir, 'gpu-data.json')),
  `needs the reference data, and ${dataDir} is absent (it lives beside the repository)`,
);

describe('generated catalog files', () => {
  test('carry the generated header', () => {
    for (const f of ['gpu-types.generated.ts', 'instance-types.generated.ts']) {
      expect(fs.readFileSync(path.join(repo, GENERATED_DIR, f), 'utf8').startsWith(GENERATED_HEADER)).toBe(true);
    }
  });
});

withData('generated catalog against ../shared/gpu-data', () => {
  test('the committed generated files are up to date', () => {
    const files = renderCatalog(dataDir);
    for (const [name, content] of Object.entries(files)) {
      expect(fs.readFileSync(path.join(repo, GENERATED_DIR, name), 'utf8')).toBe(content);
    }
  });
});
