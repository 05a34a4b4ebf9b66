/// <reference lib="dom" />
/**
 * Dragging the floating button and the panel with pointer events. A press that moves less than a few pixels is a
 * click, not a drag, so the button still opens the panel. Positions stay inside the viewport and are remembered.
 */

export interface Point {
  x: number;
  y: number;
}

export interface Size {
  width: number;
  height: number;
}

/** Moves below this many pixels count as a click. */
export const DRAG_THRESHOLD_PX = 4;
const MARGIN_PX = 4;

/** The top-left corner that keeps a box of `size` inside the viewport (or at its top-left when it cannot fit). */
export function clampToViewport(position: Point, size: Size, viewport: Size): Point {
  const maxX = Math.max(MARGIN_PX, viewport.width - size.width - MARGIN_PX);
  const maxY = Math.max(MARGIN_PX, viewport.height - size.height - MARGIN_PX);
  return {
    x: Math.round(Math.min(maxX, Math.max(MARGIN_PX, position.x))),
    y: Math.round(Math.min(maxY, Math.max(MARGIN_PX, position.y))),
  };
}

/**
 * Where the boxes show: each position as dragged, moved inside the viewport when its size is known. The dragged
 * positions themselves stay as they are, so a position from a larger screen comes back there.
 */
export function fitPositions(dragged: SavedPositions, sizes: { fab?: Size; panel?: Size }, viewport: Size): SavedPositions {
  const out: SavedPositions = {};
  for (const which of ['fab', 'panel'] as const) {
    const position = dragged[which];
    const size = sizes[which];
    if (position) out[which] = size ? clampToViewport(position, size, viewport) : position;
  }
  return out;
}

export function isDrag(start: Point, current: Point): boolean {
  return Math.hypot(current.x - start.x, current.y - start.y) >= DRAG_THRESHOLD_PX;
}

export interface SavedPositions {
  fab?: Point;
  panel?: Point;
}

const POSITIONS_KEY = 'switchboard.position';

function isPoint(value: unknown): value is Point {
  const p = value as Point | null;
  return typeof p === 'object' && p !== null && Number.isFinite(p.x) && Number.isFinite(p.y);
}

export function loadPositions(storage: Pick<Storage, 'getItem'> | undefined): SavedPositions {
  try {
    const parsed = JSON.parse(storage?.getItem(POSITIONS_KEY) ?? '{}') as Record<string, unknown>;
    const out: SavedPositions = {};
    if (isPoint(parsed.fab)) out.fab = { x: parsed.fab.x, y: parsed.fab.y };
    if (isPoint(parsed.panel)) out.panel = { x: parsed.panel.x, y: parsed.panel.y };
    return out;
  } catch {
    return {};
  }
}

export function savePositions(storage: Pick<Storage, 'setItem'> | undefined, positions: SavedPositions): void {
  try {
    storage?.setItem(POSITIONS_KEY, JSON.stringify(positions));
  } catch {
    // Storage disabled: the position lasts as long as the page.
  }
}

export interface DragOptions {
  /** The element that moves (its top-left follows the pointer). */
  box: () => HTMLElement | null;
  moved: (position: Point) => void;
  /** The drag ended; save the position. */
  dropped: () => void;
}

/**
 * Pointer handlers for a drag handle. `wasDrag()` tells the handle's click listener to ignore the click that ends
 * a drag.
 */
export function draggable(options: DragOptions): { pointerdown: (event: PointerEvent) => void; wasDrag: () => boolean } {
  let dragged = false;
  const pointerdown = (event: PointerEvent): void => {
    if (event.button !== 0 || !event.isPrimary) return;
    const box = options.box();
    const handle = event.currentTarget as HTMLElement | null;
    if (!box || !handle) return;
    // Buttons inside a drag handle (the panel's close button) stay buttons.
    const target = event.composedPath()[0];
    if (target !== handle && target instanceof Element && target.closest('button, a, input') && !handle.matches('button')) return;
    const start = { x: event.clientX, y: event.clientY };
    const rect = box.getBoundingClientRect();
    const offset = { x: start.x - rect.left, y: start.y - rect.top };
    dragged = false;
    let dragging = false;
    try {
      handle.setPointerCapture(event.pointerId);
    } catch {
      // Synthetic events have no active pointer to capture; the handlers still work while over the handle.
    }
    const move = (e: PointerEvent): void => {
      if (e.pointerId !== event.pointerId) return;
      const current = { x: e.clientX, y: e.clientY };
      if (!dragging && !isDrag(start, current)) return;
      dragging = true;
      const size = { width: rect.width, height: rect.height };
      options.moved(clampToViewport({ x: current.x - offset.x, y: current.y - offset.y }, size, viewportSize()));
    };
    const up = (e: PointerEvent): void => {
      if (e.pointerId !== event.pointerId) return;
      handle.removeEventListener('pointermove', move);
      handle.removeEventListener('pointerup', up);
      handle.removeEventListener('pointercancel', up);
      if (dragging) {
        dragged = true;
        options.dropped();
      }
    };
    handle.addEventListener('pointermove', move);
    handle.addEventListener('pointerup', up);
    handle.addEventListener('pointercancel', up);
  };
  return {
    pointerdown,
    wasDrag: () => {
      const was = dragged;
      dragged = false;
      return was;
    },
  };
}

/** The page's visible area, scroll bars excluded where the browser says so. */
export function viewportSize(): Size {
  return { width: document.documentElement.clientWidth || window.innerWidth, height: document.documentElement.clientHeight || window.innerHeight };
}

/** The page's localStorage, or none where reading it throws (storage blocked, sandboxed frames). */
export function safeLocalStorage(): Storage | undefined {
  try {
    return globalThis.localStorage;
  } catch {
    return undefined;
  }
}
