// One layout function per plan computes both the workspace size (GetWorkspaceSize) and the
// placement the executor uses, so the two agree by construction (STYLE §4).

/** Storage bindings must start at multiples of minStorageBufferOffsetAlignment (256 by default). */
export const BINDING_ALIGN = 256;

/** Hands out aligned byte ranges; `bytes` is the total so far. */
export class WorkspaceAllocator {
  bytes = 0;
  alloc(size: number, align = BINDING_ALIGN): { offset: number; size: number } {
    const offset = Math.ceil(this.bytes / align) * align;
    const padded = Math.max(4, Math.ceil(size / 4) * 4);
    this.bytes = offset + padded;
    return { offset, size: padded };
  }
}

/** A byte range of the caller's workspace buffer. */
export interface WorkspaceRegion {
  offset: number;
  size: number;
}

export function bindingOf(buffer: GPUBuffer, r: WorkspaceRegion): GPUBufferBinding {
  return { buffer, offset: r.offset, size: r.size };
}
