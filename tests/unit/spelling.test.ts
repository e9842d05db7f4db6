import assert from 'node:assert/strict';
import { closestSpelling, editDistance } from '../../tasks/EnsureAcrManagedIdentityPullV1/src/spelling';

describe('closestSpelling', () => {
  const visible = ['contosoacr.azurecr.io', 'fabrikamregistry.azurecr.io', 'contosoacr2.azurecr.io'];
  const table: [string, string | undefined][] = [
    ['contosoarc.azurecr.io', 'contosoacr.azurecr.io'], // two letters swapped
    ['contosacr.azurecr.io', 'contosoacr.azurecr.io'], // one letter missing
    ['fabrikamregistery.azurecr.io', 'fabrikamregistry.azurecr.io'],
    ['CONTOSOARC.azurecr.io', 'contosoacr.azurecr.io'], // case does not matter
    ['nosuchacr.azurecr.io', undefined], // another name, not a typo (the shared suffix does not count)
    ['contosoacr.azurecr.io', 'contosoacr2.azurecr.io'], // exact names are never "suggested"; the nearest other is
    ['fabrikamregistry.azurecr.co', 'fabrikamregistry.azurecr.io'], // a typo in the suffix compares whole names
  ];
  for (const [wanted, expected] of table) {
    it(`${wanted} -> ${expected ?? 'no suggestion'}`, () => {
      assert.equal(closestSpelling(wanted, visible), expected);
    });
  }

  it('measures edits', () => {
    assert.equal(editDistance('kitten', 'sitting'), 3);
    assert.equal(editDistance('', 'abc'), 3);
    assert.equal(editDistance('same', 'same'), 0);
  });
});
