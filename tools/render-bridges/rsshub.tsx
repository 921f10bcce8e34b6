// Renders RSSHub answers with RSSHub's own views (lib/views/rss.tsx, error.tsx, layout.tsx) the way
// lib/middleware/template.tsx and lib/errors/index.tsx call them in production (NODE_ENV=production).
import { renderToString } from 'hono/jsx/dom/server';
import RSS from '@/views/rss';
import ErrorPage from '@/views/error';
import fs from 'node:fs';

const out = (name: string, text: string) => fs.writeFileSync(`out/${name}`, text);
fs.mkdirSync('out', { recursive: true });
// lib/routes/weibo/user.ts: title `${name}的微博`, link https://weibo.com/${uid}/, items from formatExtended:
// link https://weibo.com/${uid}/${bid}; pubDate as a UTC string; 'zh-cn' is not set by the route ('en').
const uid = '5529945701';
const weibo = { title: '岳麓发布的微博', link: `https://weibo.com/${uid}/`, description: '长沙市岳麓区人民政府新闻办公室官方微博',
  image: 'https://tvax1.sinaimg.cn/crop.0.0.180.180.180/0063bd2bly8g0.jpg', lastBuildDate: 'Wed, 04 Dec 2024 09:00:00 GMT', ttl: 5,
  atomlink: `http://rsshub.intranet:1200/weibo/user/${uid}`,
  item: [
    { title: '【岳麓区召开2024年安全生产工作会议】12月3日下午…', description: '【岳麓区召开2024年安全生产工作会议】12月3日下午，区委副书记、区长主持召开会议。<br><img src="https://tvax1.sinaimg.cn/large/0063bd2bly1hw.jpg">',
      link: `https://weibo.com/${uid}/HATy0b0sZ`, pubDate: new Date(Date.UTC(2019, 5, 27, 15, 11, 40)).toUTCString(), author: '岳麓发布' },
    { title: '转发微博', description: '转发微博<br clear="both"><div style="clear: both"></div><blockquote> - 转发 <a href="https://weibo.com/2803301701" target="_blank">@人民日报</a>: 冬季防火提示</blockquote>',
      link: `https://weibo.com/${uid}/Oa1b2c3d4`, pubDate: 'Tue, 03 Dec 2024 02:00:00 GMT', author: '岳麓发布' },
  ] };
out('weibo-user.xml', '<?xml version="1.0" encoding="UTF-8"?>' + renderToString(<RSS data={weibo} />));
const token = 'MS4wLjABAAAAv7iSuuXDJGDvJkmH_vz1qkDZYo1apxgzaxdBSeIuPi4';
const toutiao = { title: '岳麓发布的头条主页 - 今日头条(www.toutiao.com)', link: `https://www.toutiao.com/c/user/token/${token}/`,
  description: '岳麓区委宣传部官方账号', lastBuildDate: 'Wed, 04 Dec 2024 09:00:00 GMT', ttl: 5,
  atomlink: `http://rsshub.intranet:1200/toutiao/user/token/${token}`,
  item: [
    { title: '岳麓区召开2024年安全生产工作会议', description: '12月3日下午，区委副书记、区长主持召开会议。', link: 'https://www.toutiao.com/article/7444000000000000001/',
      pubDate: 'Tue, 03 Dec 2024 08:30:00 GMT', author: '岳麓发布' },
    { title: '冬季防火，从我做起', description: '<p>冬季防火，从我做起</p>', link: 'https://www.toutiao.com/w/7443000000000000002/',
      pubDate: 'Mon, 02 Dec 2024 01:15:00 GMT', author: '岳麓发布' },
    { title: '岳麓山枫叶正红', description: '<video controls preload="metadata"></video>', link: 'https://www.toutiao.com/video/7442000000000000003/',
      pubDate: 'Sun, 01 Dec 2024 23:59:59 GMT', author: '岳麓发布' },
  ] };
out('toutiao-user.xml', '<?xml version="1.0" encoding="UTF-8"?>' + renderToString(<RSS data={toutiao} />));
const page = (path: string, route: string, name: string, message: string, suffix = '') =>
  '<!DOCTYPE html>' + renderToString(<ErrorPage requestPath={path} message={`${name}: ${message}${suffix}`} errorRoute={route} nodeVersion="v22.11.0" />);
out('404-toutiao-no-posts.html', page(`/toutiao/user/token/${token}`, '/toutiao/user/token/:token', 'NotFoundError', '暂未发表作品', 'The route does not exist or has been deleted.'));
out('404-no-route.html', page('/toutiao/user/12345', '/toutiao/user/12345', 'NotFoundError', '', 'The route does not exist or has been deleted.'));
out('503-weibo-unknown-uid.html', page('/weibo/user/1000000001', '/weibo/user/:uid/:routeParams?', 'TypeError', "Cannot read properties of undefined (reading 'screen_name')"));
out('503-fetch-error.html', page(`/toutiao/user/token/${token}`, '/toutiao/user/token/:token', 'FetchError', '[GET] "https://www.toutiao.com/api/pc/list/feed": 502 Bad Gateway'));
out('403-access-key.html', page(`/weibo/user/${uid}`, '/weibo/user/:uid/:routeParams?', 'RejectError', 'Authentication failed. Access denied.'));
