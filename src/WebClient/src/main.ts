import './styles.css';
import { route } from './router';

route(window.location.pathname, document.getElementById('app') as HTMLElement);
