const SVG = 'http://www.w3.org/2000/svg';

/** The video-camera icon: decorative (aria-hidden); the text beside it carries the meaning. */
export function cameraIcon(): SVGSVGElement {
  const svg = document.createElementNS(SVG, 'svg');
  svg.setAttribute('viewBox', '0 0 24 24');
  svg.setAttribute('width', '18');
  svg.setAttribute('height', '18');
  svg.setAttribute('aria-hidden', 'true');
  svg.setAttribute('focusable', 'false');
  svg.setAttribute('class', 'icon');
  const body = document.createElementNS(SVG, 'rect');
  for (const [k, v] of Object.entries({ x: '2', y: '6', width: '13', height: '12', rx: '2.5' })) body.setAttribute(k, v);
  const lens = document.createElementNS(SVG, 'path');
  lens.setAttribute('d', 'M15 10.5 21 7v10l-6-3.5z');
  for (const shape of [body, lens]) {
    shape.setAttribute('fill', 'none');
    shape.setAttribute('stroke', 'currentColor');
    shape.setAttribute('stroke-width', '1.8');
    shape.setAttribute('stroke-linejoin', 'round');
  }
  svg.append(body, lens);
  return svg;
}
