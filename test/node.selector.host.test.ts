// The Node device selector's choices: option, else environment variable, else the default; an
// unknown value is an Error naming where it came from and the accepted values.
import { describe, expect, it } from 'vitest';
import { adapterChoice, deviceConfigName, hiddenFeatures, limitsChoice } from '../src/node.js';

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

  it('hidden features: the option over FIA_HIDE_FEATURES (a comma list) over none', () => {
    expect(hiddenFeatures({}, {})).toEqual([]);
    expect(hiddenFeatures({}, { FIA_HIDE_FEATURES: ' shader-f16, subgroups ' })).toEqual(['shader-f16', 'subgroups']);
    expect(hiddenFeatures({ hideFeatures: ['subgroups'] }, { FIA_HIDE_FEATURES: 'shader-f16' })).toEqual(['subgroups']);
    expect(() => hiddenFeatures({}, { FIA_HIDE_FEATURES: 'f16' })).toThrow('FIA_HIDE_FEATURES=f16: f16 is not one of shader-f16, subgroups, timestamp-query');
    expect(deviceConfigName({ adapter: 'lavapipe', limits: 'adapter', hideFeatures: ['subgroups', 'shader-f16'] })).toBe('lavapipe-subgroups-shader-f16');
  });

  it('unknown values are rejected with the source and the accepted values', () => {
    expect(() => adapterChoice({}, { FIA_ADAPTER: 'metal' })).toThrow('FIA_ADAPTER=metal: expected one of default, swiftshader, lavapipe');
    expect(() => adapterChoice({ adapter: 'gpu' as never }, {})).toThrow('adapter gpu: expected one of default, swiftshader, lavapipe');
    expect(() => limitsChoice({}, { FIA_LIMITS: 'max' })).toThrow('FIA_LIMITS=max: expected one of adapter, default');
    expect(() => limitsChoice({ limits: 'max' as never }, {})).toThrow('limits max: expected one of adapter, default');
  });
});
