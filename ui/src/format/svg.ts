// Charts arrive from the library as SVG text; an <img> with a data URL shows them
// without inserting markup into the page.
export function svgSource(svg: string): string {
  return `data:image/svg+xml;charset=utf-8,${encodeURIComponent(svg)}`;
}
