/** Renderer entry: picks the Api transport and mounts the app. */
import { mount } from 'svelte';
import App from './App.svelte';
import './app.css';
import { createClient } from './lib/api/client';
import { AppState } from './lib/state/app.svelte';

const app = new AppState(createClient());
mount(App, { target: document.getElementById('app')!, props: { app } });
