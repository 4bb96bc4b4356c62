/**
 * The self-view floats over the stage and can be moved out of the way: dragged with a mouse, finger or pen (Pointer
 * Events with pointer capture, so a fast drag does not lose it: MDN, Element.setPointerCapture), or with the arrow
 * keys when focused. It always stays inside the stage, also when the stage shrinks. Its place is kept as fractions of
 * the free room, so a window that changes size keeps it in the same corner.
 */

const KeyStep = 24;

export function makeMovable(item: HTMLElement, stage: HTMLElement): () => void {
  // 1, 1 = bottom right, the usual place of a self-view.
  let fx = 1;
  let fy = 1;
  let drag: { pointerId: number; dx: number; dy: number } | null = null;

  const room = (): { w: number; h: number } => ({
    w: Math.max(0, stage.clientWidth - item.offsetWidth),
    h: Math.max(0, stage.clientHeight - item.offsetHeight),
  });
  const place = (): void => {
    const { w, h } = room();
    item.style.left = `${Math.round(fx * w)}px`;
    item.style.top = `${Math.round(fy * h)}px`;
  };
  const moveTo = (left: number, top: number): void => {
    const { w, h } = room();
    fx = w > 0 ? Math.min(1, Math.max(0, left / w)) : 0;
    fy = h > 0 ? Math.min(1, Math.max(0, top / h)) : 0;
    place();
  };

  item.classList.add('movable');
  item.tabIndex = 0;
  item.setAttribute('aria-roledescription', 'movable picture');
  item.addEventListener('pointerdown', (event) => {
    if (event.button !== 0) return;
    drag = { pointerId: event.pointerId, dx: event.clientX - item.offsetLeft, dy: event.clientY - item.offsetTop };
    item.setPointerCapture(event.pointerId);
    item.classList.add('dragging');
    event.preventDefault();
  });
  item.addEventListener('pointermove', (event) => {
    if (drag?.pointerId !== event.pointerId) return;
    moveTo(event.clientX - drag.dx, event.clientY - drag.dy);
  });
  const end = (event: PointerEvent): void => {
    if (drag?.pointerId !== event.pointerId) return;
    drag = null;
    item.classList.remove('dragging');
  };
  item.addEventListener('pointerup', end);
  item.addEventListener('pointercancel', end);
  item.addEventListener('keydown', (event) => {
    const step: Record<string, [number, number]> = { ArrowLeft: [-KeyStep, 0], ArrowRight: [KeyStep, 0], ArrowUp: [0, -KeyStep], ArrowDown: [0, KeyStep] };
    const move = step[event.key];
    if (!move) return;
    event.preventDefault();
    moveTo(item.offsetLeft + move[0], item.offsetTop + move[1]);
  });

  const observer = new ResizeObserver(place);
  observer.observe(stage);
  observer.observe(item);
  place();
  return () => observer.disconnect();
}
