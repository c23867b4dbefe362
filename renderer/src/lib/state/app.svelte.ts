/** App-wide state: the route, the theme, the experiment list and the last error shown. */
import type { Api, ApiEvent, ExperimentSummary } from '../../../../core/api';
import type { Theme } from '../charts/palette';

export type Tab = 'runs' | 'distances' | 'consistency';

export type Route = { name: 'experiments' } | { name: 'new' } | { name: 'experiment'; id: number; tab: Tab };

/** Parses a location hash such as `#/experiments/3/distances`; unknown hashes go to the history. */
export function parseRoute(hash: string): Route {
  const parts = hash.replace(/^#\/?/, '').split('/').filter(Boolean);
  if (parts[0] === 'new') return { name: 'new' };
  if (parts[0] === 'experiments' && parts[1] !== undefined && /^\d+$/.test(parts[1])) {
    const tab = parts[2] === 'distances' || parts[2] === 'consistency' ? parts[2] : 'runs';
    return { name: 'experiment', id: Number(parts[1]), tab };
  }
  return { name: 'experiments' };
}

export function routeHash(route: Route): string {
  if (route.name === 'new') return '#/new';
  if (route.name === 'experiment') return `#/experiments/${route.id}${route.tab === 'runs' ? '' : `/${route.tab}`}`;
  return '#/experiments';
}

const THEME_KEY = 'seedscope.theme';

function initialTheme(): Theme {
  const stored = localStorage.getItem(THEME_KEY);
  if (stored === 'light' || stored === 'dark') return stored;
  return window.matchMedia('(prefers-color-scheme: dark)').matches ? 'dark' : 'light';
}

export class AppState {
  route = $state<Route>(parseRoute(window.location.hash));
  theme = $state<Theme>(initialTheme());
  experiments = $state.raw<ExperimentSummary[]>([]);
  loadingExperiments = $state(true);
  /** The last failed call, shown in the status bar until dismissed. */
  error = $state<string | null>(null);
  private listeners = new Set<(event: ApiEvent) => void>();

  constructor(readonly api: Api) {
    window.addEventListener('hashchange', () => {
      this.route = parseRoute(window.location.hash);
    });
    api.subscribe((event) => this.handleEvent(event));
  }

  navigate(route: Route): void {
    window.location.hash = routeHash(route);
  }

  toggleTheme(): void {
    this.theme = this.theme === 'dark' ? 'light' : 'dark';
    localStorage.setItem(THEME_KEY, this.theme);
  }

  /** Registers a listener for live events; returns the function that removes it. */
  onEvent(listener: (event: ApiEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async refreshExperiments(): Promise<void> {
    try {
      this.experiments = await this.api.listExperiments();
    } catch (error) {
      this.report(error);
    } finally {
      this.loadingExperiments = false;
    }
  }

  report(error: unknown): void {
    this.error = error instanceof Error ? error.message : String(error);
  }

  private handleEvent(event: ApiEvent): void {
    if (event.type === 'experiment') {
      const others = this.experiments.filter((experiment) => experiment.id !== event.experiment.id);
      this.experiments = [event.experiment, ...others].sort((a, b) => b.id - a.id);
    } else if (event.type === 'experimentDeleted') {
      this.experiments = this.experiments.filter((experiment) => experiment.id !== event.experimentId);
    }
    for (const listener of this.listeners) listener(event);
  }
}
