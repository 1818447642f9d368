// GPUBufferUsage bits, by the WebGPU spec's values: the `GPUBufferUsage` global may not exist yet
// when these modules load in Node (Dawn installs it with the bindings). Every buffer this package
// creates or checks names its usage from here.
export const USAGE = {
  MAP_READ: 0x0001,
  COPY_SRC: 0x0004,
  COPY_DST: 0x0008,
  UNIFORM: 0x0040,
  STORAGE: 0x0080,
  INDIRECT: 0x0100,
} as const;

/** The usage names set in `bits`, for messages ("STORAGE | COPY_SRC"). */
export function usageNames(bits: number): string {
  return (Object.keys(USAGE) as (keyof typeof USAGE)[]).filter((k) => (bits & USAGE[k]) !== 0).join(' | ');
}
