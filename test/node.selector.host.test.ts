// The Node device selector's choices: option, else environment variable, else the default; an
// unknown value is an Error naming where it came from and the accepted values.
import { describe, expect, it } from 'vitest';
import { adapterChoice, limitsChoice } from '../src/node.js';

describe('Node device selector', () => {
  it('option over FIA_ADAPTER over the default; forceSoftware means swiftshader', () => {
    expect(adapterChoice({}, {})).toBe('default');
    expect(adapterChoice({}, { FIA_ADAPTER: ' lavapipe ' })).toBe('lavapipe');
    expect(adapterChoice({ adapter: 'swiftshader' }, { FIA_ADAPTER: 'lavapipe' })).toBe('swiftshader');
    expect(adapterChoice({ forceSoftware: true }, { FIA_ADAPTER: 'lavapipe' })).toBe('swiftshader');
    expect(limitsChoice({}, {})).toBe('adapter');
    expect(limitsChoice({}, { FIA_LIMITS: 'default' })).toBe('default');
    expect(limitsChoice({ limits: 'adapter' }, { FIA_LIMITS: 'default' })).toBe('adapter');
  });

  it('unknown values are rejected with the source and the accepted values', () => {
    expect(() => adapterChoice({}, { FIA_ADAPTER: 'metal' })).toThrow('FIA_ADAPTER=metal: expected one of default, swiftshader, lavapipe');
    expect(() => adapterChoice({ adapter: 'gpu' as never }, {})).toThrow('adapter gpu: expected one of default, swiftshader, lavapipe');
    expect(() => limitsChoice({}, { FIA_LIMITS: 'max' })).toThrow('FIA_LIMITS=max: expected one of adapter, default');
    expect(() => limitsChoice({ limits: 'max' as never }, {})).toThrow('limits max: expected one of adapter, default');
  });
});
