// Tiny DOM helpers. Every refresh updates nodes in place (text only when it changed, rows keyed by
// id), so a refresh never moves the user's scroll position, focus or text selection.

export function byId<T extends HTMLElement = HTMLElement>(id: string): T {
  const node = document.getElementById(id);
  if (!node) throw new Error(`index.html has no #${id}`);
  return node as T;
}

type Attrs = Record<string, string | undefined>;

/** Creates an element; `class` and other attributes in one object, children as nodes or text. */
export function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Attrs = {},
  ...children: Array<Node | string>
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) if (v !== undefined) node.setAttribute(k, v);
  node.append(...children);
  return node;
}

/** Sets text only when it differs: rewriting equal text would still drop a selection inside it. */
export function setText(node: Node, text: string): void {
  if (node.textContent !== text) node.textContent = text;
}

export function setAttr(node: Element, name: string, value: string | undefined): void {
  if (value === undefined) {
    if (node.hasAttribute(name)) node.removeAttribute(name);
  } else if (node.getAttribute(name) !== value) {
    node.setAttribute(name, value);
  }
}

export function toggleClass(node: Element, name: string, on: boolean): void {
  if (node.classList.contains(name) !== on) node.classList.toggle(name, on);
}

export function show(node: HTMLElement, visible: boolean): void {
  if (node.hidden === visible) node.hidden = !visible;
}

/**
 * Focuses the first candidate that can take the focus (one that is connected and not hidden).
 * A dialog returns focus to the control that opened it; when a refresh removed or hid that control
 * meanwhile, focus would fall to <body>, the top of the page, for a keyboard or screen-reader user.
 */
export function focusFirst(...candidates: Array<HTMLElement | null | undefined>): void {
  for (const c of candidates) {
    if (!c) continue;
    c.focus();
    if (document.activeElement === c) return;
  }
}

/**
 * Keeps `container`'s children in the order of `items`, one element per key: existing elements are
 * updated and moved only when out of place, new ones created, vanished ones removed.
 */
export class KeyedList<T, N extends Element> {
  private readonly nodes = new Map<string, N>();

  constructor(
    private readonly container: Element,
    private readonly keyOf: (item: T) => string,
    private readonly create: (item: T) => N,
    private readonly update: (node: N, item: T) => void,
  ) {}

  render(items: readonly T[]): void {
    const seen = new Set<string>();
    let cursor: Element | null = this.container.firstElementChild;
    for (const item of items) {
      const key = this.keyOf(item);
      seen.add(key);
      let node = this.nodes.get(key);
      if (!node) {
        node = this.create(item);
        this.nodes.set(key, node);
      }
      this.update(node, item);
      if (node !== cursor) this.container.insertBefore(node, cursor);
      else cursor = cursor.nextElementSibling;
    }
    for (const [key, node] of this.nodes) {
      if (!seen.has(key)) {
        node.remove();
        this.nodes.delete(key);
      }
    }
  }

  get size(): number {
    return this.nodes.size;
  }
}
